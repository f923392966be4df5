"""Per-GPU sampling through NVML (the `pynvml` module of nvidia-ml-py).

Every NVML call goes through Nvml.call(): a function the GPU or driver does
not support gives None (the field is then absent, never 0) and is logged once;
no library, no driver or no GPU means zero GPUs and one log line. One GPU that
errors is skipped for that sample without hiding the others. NVML is
initialised once and device handles are kept.

GPU utilization is the mean of the driver's own utilization samples since the
previous read (nvmlDeviceGetSamples), not one instantaneous reading: a single
reading is the busy share of a short driver window, which overstates half-busy
GPUs and misses short bursts (tests/telemetry/fixtures/real-gpu-h100/README.md).
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

log = logging.getLogger("rightsizer.agent.nvml")


class Nvml:
    def __init__(self, module: ModuleType | None = None) -> None:
        self.available = False
        self.reason = ""
        self.driver_version = ""
        self._unsupported: set[str] = set()
        self._failing: set[tuple[int, str]] = set()
        self.handles: list[Any] = []
        if module is None:
            try:
                import pynvml as module  # noqa: PLC0415 - optional: hosts without GPUs
            except ImportError:
                self.reason = "nvidia-ml-py is not installed"
                log.info("event=nvml_unavailable reason=%r gpus=0", self.reason)
                return
        self.nvml = module
        try:
            module.nvmlInit()
            count = module.nvmlDeviceGetCount()
            self.handles = [module.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except module.NVMLError as exc:
            self.reason = f"NVML: {exc}"
            self.handles = []
            log.info("event=nvml_unavailable reason=%r gpus=0", self.reason)
            return
        self.available = True
        self.driver_version = _text(self.call(None, "nvmlSystemGetDriverVersion")) or ""
        log.info("event=nvml_ready gpus=%d driver=%s", count, self.driver_version)

    def call(self, index: int | None, name: str, *args: Any) -> Any:
        """nvml.<name>(*args), or None where not supported. Other NVML errors raise."""
        if name in self._unsupported:
            return None
        try:
            return getattr(self.nvml, name)(*args)
        except (self.nvml.NVMLError_NotSupported, self.nvml.NVMLError_FunctionNotFound):
            self._unsupported.add(name)
            log.info("event=nvml_not_supported function=%s gpu=%s", name, index)
            return None
        except AttributeError:  # an older nvidia-ml-py without this function
            self._unsupported.add(name)
            log.info("event=nvml_not_supported function=%s reason=missing_in_binding", name)
            return None

    def note_failure(self, index: int, what: str, exc: Exception) -> None:
        if (index, what) not in self._failing:
            self._failing.add((index, what))
            log.warning("event=gpu_error gpu=%d during=%s error=%r", index, what, str(exc))

    def shutdown(self) -> None:
        if self.available:
            self.nvml.nvmlShutdown()
            self.available = False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuSampler:
    def __init__(self, nvml: Nvml) -> None:
        self.nvml = nvml
        # Per GPU uuid: the newest utilization sample's timestamp seen, in the driver's own
        # microsecond clock (not always the Unix epoch), so it is only ever handed back to NVML.
        self._last_sample_us: dict[str, int] = {}

    def inventory(self) -> list[dict[str, Any]]:
        gpus = []
        for index, handle in enumerate(self.nvml.handles):
            try:
                info = self._info(index, handle)
            except self.nvml.nvml.NVMLError as exc:
                self.nvml.note_failure(index, "inventory", exc)
                continue
            if "uuid" in info and "name" in info and "memory_total" in info:  # what the contract requires
                gpus.append(info)
        return gpus

    def _info(self, index: int, handle: Any) -> dict[str, Any]:
        call = self.nvml.call
        memory = self._memory(index, handle)
        limit_mw = call(index, "nvmlDeviceGetEnforcedPowerLimit", handle)
        mig = call(index, "nvmlDeviceGetMigMode", handle)
        info = {
            "uuid": _text(call(index, "nvmlDeviceGetUUID", handle)),  # nvidia-smi --query-gpu=uuid
            "index": index,  # --query-gpu=index
            "name": _text(call(index, "nvmlDeviceGetName", handle)),  # --query-gpu=name
            "memory_total": memory.total if memory is not None else None,  # memory.total
            "power_limit_w": limit_mw / 1000 if limit_mw is not None else None,  # enforced.power.limit
            "mig_mode": bool(mig[0]) if mig is not None else None,  # mig.mode.current
        }
        return {k: v for k, v in info.items() if v is not None}

    def _memory(self, index: int, handle: Any) -> Any:
        # v2 leaves driver-reserved memory out of "used"; older drivers only have v1.
        version = getattr(self.nvml.nvml, "nvmlMemory_v2", None)
        if version is not None and "nvmlDeviceGetMemoryInfo_v2" not in self.nvml._unsupported:
            try:
                return self.nvml.nvml.nvmlDeviceGetMemoryInfo(handle, version=version)
            except (self.nvml.nvml.NVMLError_NotSupported, self.nvml.nvml.NVMLError_FunctionNotFound):
                self.nvml._unsupported.add("nvmlDeviceGetMemoryInfo_v2")
                log.info("event=nvml_not_supported function=nvmlDeviceGetMemoryInfo_v2 gpu=%d", index)
        return self.nvml.call(index, "nvmlDeviceGetMemoryInfo", handle)

    def sample(self, inventory: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Readings for the GPUs of `inventory` (entries of inventory(), each with its index)."""
        readings = []
        for gpu in inventory:
            index = gpu["index"]
            handle = self.nvml.handles[index]
            try:
                readings.append(self._reading(index, handle, gpu["uuid"]))
            except self.nvml.nvml.NVMLError as exc:  # e.g. GPU is lost: skip it, keep the rest
                self.nvml.note_failure(index, "sample", exc)
        return readings

    def _reading(self, index: int, handle: Any, uuid: str) -> dict[str, Any]:
        call, nv = self.nvml.call, self.nvml.nvml
        util = call(index, "nvmlDeviceGetUtilizationRates", handle)
        util_mean = self._util_since_last_read(index, handle, uuid)
        if util_mean is None and util is not None:  # first read, no new samples, or no buffer
            util_mean = float(util.gpu)
        memory = self._memory(index, handle)
        power_mw = call(index, "nvmlDeviceGetPowerUsage", handle)
        energy_mj = call(index, "nvmlDeviceGetTotalEnergyConsumption", handle)
        reading = {
            "uuid": uuid,
            "util_pct": util_mean,  # utilization.gpu, averaged over the interval
            "mem_util_pct": float(util.memory) if util is not None else None,  # utilization.memory
            "mem_used": memory.used if memory is not None else None,  # memory.used
            "power_w": power_mw / 1000 if power_mw is not None else None,  # power.draw
            "temp_c": _float(call(index, "nvmlDeviceGetTemperature", handle, nv.NVML_TEMPERATURE_GPU)),
            "sm_clock_mhz": _float(call(index, "nvmlDeviceGetClockInfo", handle, nv.NVML_CLOCK_SM)),
            "energy_j": energy_mj / 1000 if energy_mj is not None else None,  # total_energy_consumption
        }
        return {k: v for k, v in reading.items() if v is not None}

    def _util_since_last_read(self, index: int, handle: Any, uuid: str) -> float | None:
        """Mean of the driver's GPU utilization samples since this GPU's previous read; None on
        the first read (the buffer reaches back before the interval), where nothing is new (some
        drivers stop sampling while idle) or where the driver keeps no samples.

        A plain mean is the time-weighted one: the driver samples at a fixed period (1/6 s to 1 s
        by product; every 200 ms on the H100 of the fixture), so each sample stands for as long.
        """
        nv = self.nvml.nvml
        last_us = self._last_sample_us.get(uuid)
        try:
            answer = self.nvml.call(
                index, "nvmlDeviceGetSamples", handle, nv.NVML_GPU_UTILIZATION_SAMPLES, last_us or 0
            )
        except nv.NVMLError_NotFound:  # no sample newer than last_us
            return None
        except nv.NVMLError as exc:  # only this field falls back; the GPU's other readings stand
            self.nvml.note_failure(index, "utilization_samples", exc)
            return None
        if answer is None:  # not supported: logged once by call()
            return None
        _, samples = answer  # utilization samples are unsigned ints (nvmlValue_t.uiVal), percent
        fresh = [s for s in samples if s.timeStamp > (last_us or 0)]
        if not fresh:
            return None
        self._last_sample_us[uuid] = max(s.timeStamp for s in fresh)
        if last_us is None:
            return None
        return sum(s.sampleValue.uiVal for s in fresh) / len(fresh)

    def processes(self, inventory: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Compute processes on each GPU: pid and GPU memory (joined to names by the caller)."""
        found = []
        for gpu in inventory:
            index, handle = gpu["index"], self.nvml.handles[gpu["index"]]
            try:
                procs = self.nvml.call(index, "nvmlDeviceGetComputeRunningProcesses", handle) or []
            except self.nvml.nvml.NVMLError as exc:
                self.nvml.note_failure(index, "processes", exc)
                continue
            for proc in procs:
                used = getattr(proc, "usedGpuMemory", None)
                found.append({"gpu_uuid": gpu["uuid"], "pid": int(proc.pid), "gpu_mem_used": used})
        return found


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None
