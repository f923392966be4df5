"""The reference catalogs: GPU types (specs and a reference price, each with its source) and open model shapes.

Prices are per GPU-hour in USD, on-demand, as published on the date given; they
differ widely by provider and change often. Override them per GPU type in the
admin (price_override_usd) or per host (HostPrice).
"""

from datetime import date

from django.db import migrations

GIB = 1024**3
RUNPOD = "RunPod on-demand, via deploybase.ai 'RunPod GPU Pricing' (2026-03-10)"
NV = "NVIDIA datasheet"

# name, NVML name fragments, memory GiB, bandwidth GB/s, TDP W, dense 16-bit TFLOPS, bf16, fp8, int8,
# spec source, $/GPU-h, price source, price date
GPU_TYPES = [
    ("H100 80GB", "h100", 80, 3350, 700, 989, True, True, True, NV + " (H100 SXM)",
     4.76, RUNPOD + ", H100 SXM", date(2026, 3, 10)),
    ("H200", "h200", 141, 4800, 700, 989, True, True, True, NV + " (H200 SXM)",
     6.35, RUNPOD + ", H200", date(2026, 3, 10)),
    ("A100 80GB", "a100", 80, 2039, 400, 312, True, False, True, NV + " (A100 SXM4 80GB)",
     2.45, RUNPOD + ", A100 SXM 80GB", date(2026, 3, 10)),
    ("A100 40GB", "a100", 40, 1555, 400, 312, True, False, True, NV + " (A100 SXM4 40GB)",
     1.29, "Lambda on-demand 1× A100 40GB SXM4 (list price)", date(2026, 1, 1)),
    ("L40S", "l40s", 48, 864, 350, 362, True, True, True, NV + " (L40S)",
     1.40, RUNPOD + ", L40S", date(2026, 3, 10)),
    ("L4", "nvidia l4", 24, 300, 72, 121, True, True, True, NV + " (L4)",
     0.78, RUNPOD + ", L4", date(2026, 3, 10)),
    ("A10G", "a10g", 24, 600, 300, 125, True, False, True, NV + " (A10; A10G is AWS's variant)",
     1.006, "AWS EC2 g5.xlarge on-demand us-east-1 (1 GPU, whole instance), via factualminds.com", date(2026, 6, 17)),
    ("T4", "tesla t4,nvidia t4", 16, 320, 70, 65, False, False, True, NV + " (T4; fp16, no bf16)",
     0.526, "AWS EC2 g4dn.xlarge on-demand us-east-1 (1 GPU, whole instance), AWS list price", date(2026, 6, 1)),
    ("V100 16GB", "v100", 16, 900, 300, 125, False, False, False, NV + " (V100 SXM2; fp16, no bf16)",
     3.06, "AWS EC2 p3.2xlarge on-demand us-east-1 (1 GPU, whole instance), AWS list price", date(2026, 6, 1)),
    ("RTX 4090", "rtx 4090", 24, 1008, 450, 165, True, True, True, NV + " (Ada; 165 with fp32 accumulate)",
     0.60, RUNPOD + ", RTX 4090", date(2026, 3, 10)),
    ("MI300X", "mi300x", 192, 5300, 750, 1307, True, True, True, "AMD Instinct MI300X datasheet",
     1.99, "median across providers, via cliffcenter.com 'AMD inference economics' (2026-05-18)", date(2026, 5, 18)),
]  # fmt: skip

HF = "Hugging Face config.json of the model"
# name, aliases, parameters, layers, KV heads, head dim, embedding + head parameters, default dtype
MODELS = [
    ("meta-llama/Llama-3.1-8B", "llama-3.1-8b,llama3.1-8b,meta-llama-3.1-8b", 8.03e9, 32, 8, 128,
     2 * 128_256 * 4096, "bfloat16"),
    ("meta-llama/Llama-3.1-70B", "llama-3.1-70b,llama3.1-70b,meta-llama-3.1-70b", 70.55e9, 80, 8, 128,
     2 * 128_256 * 8192, "bfloat16"),
    ("mistralai/Mistral-7B-v0.3", "mistral-7b", 7.25e9, 32, 8, 128, 2 * 32_768 * 4096, "bfloat16"),
    ("mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b", 46.7e9, 32, 8, 128, 2 * 32_000 * 4096, "bfloat16"),
    ("Qwen/Qwen2.5-7B", "qwen2.5-7b", 7.62e9, 28, 4, 128, 2 * 152_064 * 3584, "bfloat16"),
    ("Qwen/Qwen2.5-72B", "qwen2.5-72b", 72.7e9, 80, 8, 128, 2 * 152_064 * 8192, "bfloat16"),
    ("microsoft/Phi-3-mini-4k-instruct", "phi-3-mini,phi3-mini", 3.82e9, 32, 32, 96, 2 * 32_064 * 3072,
     "bfloat16"),
    ("google/gemma-2-9b", "gemma-2-9b,gemma2-9b", 9.24e9, 42, 8, 256, 256_000 * 3584, "bfloat16"),  # tied head
]  # fmt: skip


def load(apps, schema_editor):
    GpuType = apps.get_model("recommender", "GpuType")
    ModelSpec = apps.get_model("recommender", "ModelSpec")
    for name, match, mem, bw, tdp, tflops, bf16, fp8, int8, spec_src, price, price_src, price_date in GPU_TYPES:
        GpuType.objects.update_or_create(
            name=name,
            defaults=dict(match_names=match, vendor="amd" if name.startswith("MI") else "nvidia",
                          consumer=name.startswith("RTX"), memory_bytes=mem * GIB, memory_bandwidth_gbps=bw, tdp_w=tdp,
                          tflops_16bit=tflops, bf16=bf16, fp8=fp8, int8=int8, spec_source=spec_src,
                          hourly_price_usd=price, price_source=price_src, price_date=price_date),
        )  # fmt: skip
    for name, aliases, params, layers, kv_heads, head_dim, embedding, dtype in MODELS:
        ModelSpec.objects.update_or_create(
            name=name,
            defaults=dict(aliases=aliases, params=params, layers=layers, kv_heads=kv_heads, head_dim=head_dim,
                          embedding_params=embedding, default_dtype=dtype, source=HF,
                          source_date=date(2026, 11, 1)),
        )  # fmt: skip


def unload(apps, schema_editor):
    apps.get_model("recommender", "GpuType").objects.filter(name__in=[g[0] for g in GPU_TYPES]).delete()
    apps.get_model("recommender", "ModelSpec").objects.filter(name__in=[m[0] for m in MODELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("recommender", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
