"""What a host priced by its CPUs costs: the larger of its vCPUs and its memory ÷ 4 GiB, in vCPU-equivalents.

Sold cloud shapes are priced this way (a memory-heavy instance costs more than its vCPUs alone), and
the one function here is the basis everywhere a host without GPUs and without its own price is priced:
the fleet page (recommender.summary.host_cost), the deployment's plan (recommender.rules.state), the
realized savings (recommender.realized) and host_rightsize, so the current cost in the advice equals
the cost every page shows.
"""

from __future__ import annotations

GIB = 1024**3
GIB_PER_VCPU = 4  # the default price's instance (m7i.large: 2 vCPU, 8 GiB)


def vcpu_equivalents(vcpus: float, mem_gib: float | None) -> float:
    """The larger of the vCPUs and the memory ÷ 4 GiB; the vCPUs alone when the memory is not known."""
    return max(vcpus, (mem_gib or 0.0) / GIB_PER_VCPU)


def host_units(cpu_count: int | None, mem_total_bytes: float | None) -> float:
    """vcpu_equivalents of a host as reported (bytes of memory)."""
    return vcpu_equivalents(cpu_count or 0, mem_total_bytes / GIB if mem_total_bytes else None)


def host_hourly(cpu_count: int | None, mem_total_bytes: float | None, usd_per_vcpu_hour: float) -> float:
    return host_units(cpu_count, mem_total_bytes) * usd_per_vcpu_hour


def host_label(cpu_count: int | None, mem_total_bytes: float | None, usd_per_vcpu_hour: float) -> str:
    """Where the figure comes from, e.g. "32 vCPU / 256 GiB priced as 64 vCPU-equivalents × $0.0504/vCPU-h"."""
    if not mem_total_bytes:
        return f"{cpu_count or 0} vCPU × ${usd_per_vcpu_hour}/vCPU-h (memory not reported)"
    return (
        f"{cpu_count or 0} vCPU / {mem_total_bytes / GIB:.0f} GiB priced as "
        f"{host_units(cpu_count, mem_total_bytes):g} vCPU-equivalents × ${usd_per_vcpu_hour}/vCPU-h"
    )
