"""A stand-in for the `pynvml` module: the real module's constants and error
classes, with device functions answering from a table instead of a driver.

Types mimic the real bindings: memory info objects with .total/.used/.free
(and .reserved for v2), utilization with .gpu/.memory ints, power in mW,
energy in mJ, strings as str, process entries with .pid/.usedGpuMemory, and
nvmlDeviceGetSamples' (value type, [c_nvmlSample_t]) with microsecond timestamps in
the driver's own clock, raising NotFound where no sample is newer than the one asked.

h100() gives a GPU whose readings match a real H100 80GB HBM3 recorded by the agent
(tests/telemetry/fixtures/real-gpu-h100/), state by state.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import pynvml as real

GIB = 1024**3


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA A100-SXM4-80GB"
    memory_total: int = 80 * GIB
    memory_used_v1: int = 74 * GIB  # v1 counts driver-reserved memory as used
    memory_reserved: int = 1 * GIB
    util_gpu: int = 35
    util_memory: int = 20
    power_mw: int = 210_500
    limit_mw: int = 400_000
    temp_c: int = 61
    sm_clock_mhz: int = 1410
    energy_mj: int = 5_000_000_000
    mig: tuple[int, int] = (0, 0)
    processes: list[tuple[int, int | None]] = field(default_factory=list)
    unsupported: set[str] = field(default_factory=set)  # NVML function names that raise NotSupported
    errors: dict[str, int] = field(default_factory=dict)  # NVML function name -> the error code it raises
    lost: bool = False  # every call raises GPU is lost
    # The driver's utilization sample buffer, (timestamp µs, percent); empty until run() fills it.
    util_samples: list[tuple[int, int]] = field(default_factory=list)
    clock_us: int = 3_600_000_000  # the driver's clock: time since boot on Linux, not the Unix epoch

    def run(self, seconds: float, util_pct: int, period_s: float = 0.2) -> None:
        """Let the driver sample for `seconds` with kernels running `util_pct` of the time
        (an H100 keeps a utilization sample every 200 ms)."""
        for _ in range(round(seconds / period_s)):
            self.clock_us += round(period_s * 1e6)
            self.util_samples.append((self.clock_us, util_pct))
        self.util_gpu = util_pct  # the instantaneous reading: the driver's latest window
        self.energy_mj += round(self.power_mw * seconds)


# A real H100 80GB HBM3 (driver 580.159.04), in NVML's units: the mean of the agent's samples
# in each phase of the recorded run (phase edges left out). "no_context" is the GPU before any
# process opened it (clocks down, 70 W); the others hold a CUDA context (clocks up, ~118 W).
# state: util_gpu %, util_memory %, memory used (v2) bytes, power mW, temperature °C, SM clock MHz
H100_STATES: dict[str, tuple[int, int, int, int, int, int]] = {
    "no_context": (0, 0, 0, 70_500, 34, 345),
    "idle": (0, 0, 822_935_552, 118_400, 36, 1980),
    "full": (100, 34, 1_194_131_456, 697_800, 62, 1380),
    "half": (78, 28, 1_194_131_456, 450_100, 57, 1595),
    "mem60g_idle": (0, 0, 65_618_640_896, 123_900, 44, 1980),
}
H100_RESERVED = 512 * 1024**2  # not in the recording (the agent sends v2 "used" only): a round guess


def h100(uuid: str = "GPU-dc63222c-135b-d3a1-5819-0e63a134da73", state: str = "idle") -> FakeGpu:
    util_gpu, util_memory, used, power_mw, temp_c, sm_clock_mhz = H100_STATES[state]
    return FakeGpu(
        uuid,
        name="NVIDIA H100 80GB HBM3",
        memory_total=85_520_809_984,
        memory_used_v1=used + H100_RESERVED,
        memory_reserved=H100_RESERVED,
        util_gpu=util_gpu,
        util_memory=util_memory,
        power_mw=power_mw,
        limit_mw=700_000,
        temp_c=temp_c,
        sm_clock_mhz=sm_clock_mhz,
        energy_mj=39_944_898,
    )


def make_module(gpus: list[FakeGpu], init_error: int | None = None, v2: bool = True) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    for name in dir(real):  # constants and NVMLError* classes, as the real module has them
        if name.startswith(("NVML_", "NVMLError", "nvmlMemory_v")):
            setattr(mod, name, getattr(real, name))
    if not v2:
        del mod.nvmlMemory_v2
    mod.calls = []

    def device(fn_name: str):
        def wrap(fn):
            def call(handle, *args, **kwargs):
                mod.calls.append(fn_name)
                gpu = gpus[handle]
                if gpu.lost:
                    raise real.NVMLError(real.NVML_ERROR_GPU_IS_LOST)
                if fn_name in gpu.unsupported:
                    raise real.NVMLError(real.NVML_ERROR_NOT_SUPPORTED)
                if fn_name in gpu.errors:
                    raise real.NVMLError(gpu.errors[fn_name])
                return fn(gpu, *args, **kwargs)

            setattr(mod, fn_name, call)
            return fn

        return wrap

    def nvmlInit():
        if init_error is not None:
            raise real.NVMLError(init_error)

    mod.nvmlInit = nvmlInit
    mod.nvmlShutdown = lambda: None
    mod.nvmlDeviceGetCount = lambda: len(gpus)
    mod.nvmlDeviceGetHandleByIndex = lambda i: i
    mod.nvmlSystemGetDriverVersion = lambda: "550.54.15"

    @device("nvmlDeviceGetUUID")
    def _uuid(gpu):
        return gpu.uuid

    @device("nvmlDeviceGetName")
    def _name(gpu):
        return gpu.name

    @device("nvmlDeviceGetMemoryInfo")
    def _memory(gpu, version=None):
        if version is None:
            return types.SimpleNamespace(total=gpu.memory_total, used=gpu.memory_used_v1,
                                         free=gpu.memory_total - gpu.memory_used_v1)  # fmt: skip
        if "nvmlDeviceGetMemoryInfo_v2" in gpu.unsupported:
            raise real.NVMLError(real.NVML_ERROR_FUNCTION_NOT_FOUND)
        used = gpu.memory_used_v1 - gpu.memory_reserved
        return types.SimpleNamespace(version=version, total=gpu.memory_total, reserved=gpu.memory_reserved,
                                     used=used, free=gpu.memory_total - gpu.memory_used_v1)  # fmt: skip

    @device("nvmlDeviceGetUtilizationRates")
    def _util(gpu):
        return types.SimpleNamespace(gpu=gpu.util_gpu, memory=gpu.util_memory)

    @device("nvmlDeviceGetSamples")
    def _samples(gpu, sampling_type, last_seen_us):
        assert sampling_type == real.NVML_GPU_UTILIZATION_SAMPLES
        fresh = [(ts, pct) for ts, pct in gpu.util_samples if ts > last_seen_us]
        if not fresh:  # the real call fails this way, rather than answering an empty list
            raise real.NVMLError(real.NVML_ERROR_NOT_FOUND)
        samples = [real.c_nvmlSample_t(ts, real.c_nvmlValue_t(uiVal=pct)) for ts, pct in fresh]
        return real.NVML_VALUE_TYPE_UNSIGNED_INT, samples

    @device("nvmlDeviceGetPowerUsage")
    def _power(gpu):
        return gpu.power_mw

    @device("nvmlDeviceGetEnforcedPowerLimit")
    def _limit(gpu):
        return gpu.limit_mw

    @device("nvmlDeviceGetTotalEnergyConsumption")
    def _energy(gpu):
        return gpu.energy_mj

    @device("nvmlDeviceGetTemperature")
    def _temp(gpu, sensor):
        assert sensor == real.NVML_TEMPERATURE_GPU
        return gpu.temp_c

    @device("nvmlDeviceGetClockInfo")
    def _clock(gpu, clock):
        assert clock == real.NVML_CLOCK_SM
        return gpu.sm_clock_mhz

    @device("nvmlDeviceGetMigMode")
    def _mig(gpu):
        return list(gpu.mig)

    @device("nvmlDeviceGetComputeRunningProcesses")
    def _procs(gpu) -> list[Any]:
        return [types.SimpleNamespace(pid=pid, usedGpuMemory=mem) for pid, mem in gpu.processes]

    return mod
