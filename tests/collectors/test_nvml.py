"""GPU sampling through a fake pynvml that behaves like the real bindings."""

from __future__ import annotations

import logging

import pynvml

from collectors.nvml import GpuSampler, Nvml
from tests.collectors.fake_nvml import GIB, H100_STATES, FakeGpu, h100, make_module
from tests.telemetry import real_h100


def sampler(gpus: list[FakeGpu], **kwargs) -> tuple[GpuSampler, Nvml]:
    nvml = Nvml(make_module(gpus, **kwargs))
    return GpuSampler(nvml), nvml


def test_inventory_and_reading_convert_units_like_nvidia_smi():
    gpu_sampler, nvml = sampler([FakeGpu("GPU-0"), FakeGpu("GPU-1", name="NVIDIA H100 80GB HBM3")])
    inv = gpu_sampler.inventory()
    assert inv[0] == {"uuid": "GPU-0", "index": 0, "name": "NVIDIA A100-SXM4-80GB",
                      "memory_total": 80 * GIB, "power_limit_w": 400.0, "mig_mode": False}  # fmt: skip
    assert inv[1]["name"] == "NVIDIA H100 80GB HBM3" and inv[1]["index"] == 1
    reading = gpu_sampler.sample(inv)[0]
    assert reading == {"uuid": "GPU-0", "util_pct": 35.0, "mem_util_pct": 20.0,
                       "mem_used": 73 * GIB,  # v2: the reserved GiB is not "used"
                       "power_w": 210.5, "temp_c": 61.0, "sm_clock_mhz": 1410.0,
                       "energy_j": 5_000_000.0}  # fmt: skip
    assert nvml.driver_version == "550.54.15"


def test_v1_memory_where_the_driver_has_no_v2():
    gpu_sampler, _ = sampler([FakeGpu("GPU-0")], v2=False)
    assert gpu_sampler.sample(gpu_sampler.inventory())[0]["mem_used"] == 74 * GIB
    gpu = FakeGpu("GPU-0", unsupported={"nvmlDeviceGetMemoryInfo_v2"})
    gpu_sampler, _ = sampler([gpu])
    assert gpu_sampler.sample(gpu_sampler.inventory())[0]["mem_used"] == 74 * GIB


def test_unsupported_fields_are_absent_not_zero_and_logged_once(caplog):
    gpu = FakeGpu("GPU-0", unsupported={"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption"})
    gpu_sampler, _ = sampler([gpu])
    inv = gpu_sampler.inventory()
    with caplog.at_level(logging.INFO, logger="rightsizer.agent.nvml"):
        first = gpu_sampler.sample(inv)[0]
        second = gpu_sampler.sample(inv)[0]
    for reading in (first, second):
        assert "power_w" not in reading and "energy_j" not in reading
        assert reading["util_pct"] == 35.0
    lines = [r.message for r in caplog.records if "nvmlDeviceGetPowerUsage" in r.message]
    assert len(lines) == 1


def test_a_lost_gpu_does_not_hide_the_others(caplog):
    gpus = [FakeGpu("GPU-0"), FakeGpu("GPU-1"), FakeGpu("GPU-2")]
    gpu_sampler, _ = sampler(gpus)
    inv = gpu_sampler.inventory()
    gpus[1].lost = True
    with caplog.at_level(logging.WARNING):
        readings = gpu_sampler.sample(inv)
        gpu_sampler.sample(inv)
    assert [r["uuid"] for r in readings] == ["GPU-0", "GPU-2"]
    assert sum("gpu_error" in r.message for r in caplog.records) == 1  # logged once, not per sample


def test_no_driver_means_zero_gpus_and_one_line(caplog):
    with caplog.at_level(logging.INFO, logger="rightsizer.agent.nvml"):
        gpu_sampler, nvml = sampler([FakeGpu("GPU-0")], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    assert not nvml.available and "Driver Not Loaded" in nvml.reason
    assert gpu_sampler.inventory() == [] and gpu_sampler.sample(gpu_sampler.inventory()) == []
    assert len(caplog.records) == 1


def test_no_library_means_zero_gpus():
    gpu_sampler, nvml = sampler([], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    assert not nvml.available and gpu_sampler.inventory() == []


def test_real_pynvml_on_a_machine_without_a_gpu():
    nvml = Nvml()  # the real bindings: this machine has no NVIDIA driver, or it has GPUs
    assert nvml.available == bool(nvml.handles)
    if not nvml.available:
        assert nvml.reason.startswith("NVML")


def test_processes_with_their_gpu_memory():
    gpu_sampler, _ = sampler([FakeGpu("GPU-0", processes=[(4242, 70 * GIB), (4243, None)])])
    assert gpu_sampler.processes(gpu_sampler.inventory()) == [
        {"gpu_uuid": "GPU-0", "pid": 4242, "gpu_mem_used": 70 * GIB},
        {"gpu_uuid": "GPU-0", "pid": 4243, "gpu_mem_used": None},
    ]


def test_handles_are_kept_and_nvml_initialised_once():
    mod = make_module([FakeGpu("GPU-0")])
    inits = []
    original = mod.nvmlInit
    mod.nvmlInit = lambda: inits.append(1) or original()
    gpu_sampler = GpuSampler(Nvml(mod))
    for _ in range(3):
        gpu_sampler.sample(gpu_sampler.inventory())
    assert inits == [1]


def test_mig_mode_reported():
    gpu_sampler, _ = sampler([FakeGpu("GPU-0", mig=(1, 1))])
    assert gpu_sampler.inventory()[0]["mig_mode"] is True


def test_a_gpu_lost_before_the_inventory_does_not_shift_the_others():
    gpus = [FakeGpu("GPU-0"), FakeGpu("GPU-1", lost=True), FakeGpu("GPU-2", util_gpu=88)]
    gpu_sampler, _ = sampler(gpus)
    inv = gpu_sampler.inventory()
    assert [(g["uuid"], g["index"]) for g in inv] == [("GPU-0", 0), ("GPU-2", 2)]
    readings = {r["uuid"]: r for r in gpu_sampler.sample(inv)}
    assert readings["GPU-2"]["util_pct"] == 88.0  # GPU-2's own numbers, not GPU-1's slot


def test_utilization_is_the_mean_of_the_driver_samples_since_the_previous_read():
    gpu = FakeGpu("GPU-0")
    gpu.run(10, 100)  # before the agent starts: the first read must not average these
    gpu_sampler, nvml = sampler([gpu])
    inv = gpu_sampler.inventory()
    gpu_sampler.sample(inv)
    gpu.run(2.5, 100)
    gpu.run(2.5, 0)  # kernels half of the interval; the instantaneous reading now says 0
    assert gpu_sampler.sample(inv)[0]["util_pct"] == 50.0
    gpu.run(1, 20)
    gpu.run(4, 0)  # a short burst that one reading at the end would miss
    assert gpu_sampler.sample(inv)[0]["util_pct"] == 4.0  # 5 samples at 20% of 25: only the new ones
    assert nvml.nvml.calls.count("nvmlDeviceGetSamples") == 3


def test_first_read_is_the_instantaneous_reading():
    gpu = FakeGpu("GPU-0", util_gpu=35)
    gpu.util_samples = [(1_000_000 + i * 200_000, 100) for i in range(50)]  # the buffer reaches back 10 s
    gpu_sampler, _ = sampler([gpu])
    assert gpu_sampler.sample(gpu_sampler.inventory())[0]["util_pct"] == 35.0


def test_no_new_samples_falls_back_to_the_reading_and_keeps_the_timestamp(caplog):
    gpu = FakeGpu("GPU-0")
    gpu_sampler, nvml = sampler([gpu])
    inv = gpu_sampler.inventory()
    gpu.run(5, 80)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rightsizer.agent.nvml"):
        gpu_sampler.sample(inv)
        gpu.util_gpu = 7
        assert gpu_sampler.sample(inv)[0]["util_pct"] == 7.0  # NotFound: nothing since the last read
        gpu.run(5, 40)
        assert gpu_sampler.sample(inv)[0]["util_pct"] == 40.0  # the 80% samples were not counted again
    assert not caplog.records  # NotFound is not "unsupported", and not an error
    assert nvml.nvml.calls.count("nvmlDeviceGetSamples") == 3


def test_a_driver_without_samples_falls_back_to_the_reading_and_logs_once(caplog):
    gpu = FakeGpu("GPU-0", unsupported={"nvmlDeviceGetSamples"})
    gpu_sampler, nvml = sampler([gpu])
    inv = gpu_sampler.inventory()
    with caplog.at_level(logging.INFO, logger="rightsizer.agent.nvml"):
        for _ in range(3):
            gpu.run(2.5, 90)
            gpu.run(2.5, 10)
            assert gpu_sampler.sample(inv)[0]["util_pct"] == 10.0  # the reading, not the samples' 50
    assert sum("nvmlDeviceGetSamples" in r.message for r in caplog.records) == 1
    assert nvml.nvml.calls.count("nvmlDeviceGetSamples") == 1  # not asked again


def test_a_gpu_whose_sample_call_errors_does_not_hide_another(caplog):
    broken = FakeGpu("GPU-0", errors={"nvmlDeviceGetSamples": pynvml.NVML_ERROR_UNKNOWN})
    gpus = [broken, FakeGpu("GPU-1")]
    gpu_sampler, _ = sampler(gpus)
    inv = gpu_sampler.inventory()
    with caplog.at_level(logging.WARNING, logger="rightsizer.agent.nvml"):
        for _ in range(2):
            for gpu in gpus:
                gpu.run(2.5, 100)
                gpu.run(2.5, 0)
            readings = {r["uuid"]: r for r in gpu_sampler.sample(inv)}
    assert readings["GPU-1"]["util_pct"] == 50.0
    assert readings["GPU-0"]["util_pct"] == 0.0  # its own reading; its other fields stand
    assert readings["GPU-0"].keys() == readings["GPU-1"].keys()
    assert sum("utilization_samples" in r.message for r in caplog.records) == 1


def test_fake_h100_has_the_fields_and_value_ranges_of_the_real_recording():
    bodies = real_h100.batches()
    recorded = real_h100.gpu_readings(bodies)
    fields = {key for reading in recorded for key in reading}
    for state in H100_STATES:
        gpu_sampler, _ = sampler([h100(state=state)])
        inv = gpu_sampler.inventory()
        assert inv == bodies[0]["gpus"]  # name, memory_total, power limit, MIG mode: all equal
        reading = gpu_sampler.sample(inv)[0]
        assert reading.keys() == fields
        for key in fields - {"uuid"}:
            values = [r[key] for r in recorded]
            assert min(values) <= reading[key] <= max(values), (state, key, reading[key])
