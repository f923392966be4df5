"""Finding inference servers from command lines."""

from __future__ import annotations

from collectors.scrapers.discovery import kind_of, parse_cmdline


def test_vllm_serve_positional_model_and_flags():
    argv = [
        "/usr/bin/python3",
        "/opt/venv/bin/vllm",
        "serve",
        "meta-llama/Llama-3.1-70B-Instruct",
        "--tensor-parallel-size",
        "4",
        "--max-num-seqs=128",
        "--dtype",
        "bfloat16",
        "--port",
        "8001",
    ]
    assert kind_of(argv) == "vllm"
    assert parse_cmdline("vllm", argv) == {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "tensor_parallel": 4,
        "max_batch_size": 128,
        "dtype": "bfloat16",
        "port": 8001,
    }


def test_vllm_openai_entrypoint():
    argv = [
        "python",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "Qwen/Qwen2.5-7B-Instruct",
        "--quantization",
        "awq",
    ]
    assert kind_of(argv) == "vllm"
    assert parse_cmdline("vllm", argv) == {"model": "Qwen/Qwen2.5-7B-Instruct", "quantization": "awq"}


def test_tgi_sglang_triton():
    tgi = [
        "text-generation-launcher",
        "--model-id",
        "google/gemma-2-9b-it",
        "--num-shard",
        "2",
        "--quantize",
        "bitsandbytes",
        "--max-batch-size",
        "32",
    ]
    assert kind_of(tgi) == "tgi"
    assert parse_cmdline("tgi", tgi) == {
        "model": "google/gemma-2-9b-it",
        "tensor_parallel": 2,
        "quantization": "bitsandbytes",
        "max_batch_size": 32,
    }
    sglang = [
        "python3",
        "-m",
        "sglang.launch_server",
        "--model-path",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--tp",
        "2",
        "--max-running-requests",
        "64",
    ]
    assert kind_of(sglang) == "sglang"
    assert parse_cmdline("sglang", sglang)["max_batch_size"] == 64
    assert kind_of(["/opt/tritonserver/bin/tritonserver", "--model-repository=/models"]) == "triton"


def test_unrelated_processes_and_bad_numbers():
    assert kind_of(["python", "train.py", "--model", "x"]) is None
    assert parse_cmdline("vllm", ["vllm", "serve", "m", "--max-num-seqs", "lots"]) == {"model": "m"}
