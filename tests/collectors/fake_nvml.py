"""A stand-in for the `pynvml` module: the real module's constants and error
classes, with device functions answering from a table instead of a driver.

Types mimic the real bindings: memory info objects with .total/.used/.free
(and .reserved for v2), utilization with .gpu/.memory ints, power in mW,
energy in mJ, strings as str, process entries with .pid/.usedGpuMemory.
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
    lost: bool = False  # every call raises GPU is lost


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
