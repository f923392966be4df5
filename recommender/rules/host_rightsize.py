"""host_rightsize: a host without GPUs whose CPU p95 and memory peak sit far below what it has.

GPU hosts are left out: on cloud GPU instances the CPU and memory come with the GPUs and
are not priced apart, so a smaller host would be a different instance, which the
deployment's plan (GPU count and type) already decides.
"""

from __future__ import annotations

from recommender import cpu_price
from recommender.findings import Context, Finding, HostStats, evidence, series
from recommender.plan import plural
from recommender.rules.common import p
from recommender.savings import HOURS_PER_MONTH, Saving, arithmetic, confidence
from telemetry.units import pct_to_fraction


def _config(vcpus: int, mem_gib: float, usd_per_hour: float, price_basis: str) -> dict:
    return {
        "gpu_type": None,
        "gpus_per_replica": 0,
        "replicas": 1,
        "tensor_parallel": None,
        "dtype": None,
        "vcpus": vcpus,
        "mem_gib": round(mem_gib),
        "usd_month": round(usd_per_hour * HOURS_PER_MONTH, 2),
        "kwh_month": 0.0,
        "price_basis": price_basis,
        "summary": f"{vcpus} vCPU / {mem_gib:.0f} GiB",
    }


VCPU_SIZES = (2, 4, 8, 16, 32, 48, 64, 96, 128, 192)  # sizes instance families are sold in
# GiB per vCPU of the families sold: compute, general purpose, memory and high-memory optimized.
FAMILY_GIB_PER_VCPU = (2, 4, 8, 16)
GIB_PER_VCPU = cpu_price.GIB_PER_VCPU


def units(vcpus: float, mem_gib: float) -> float:
    """What a host costs in the default price's vCPUs (recommender.cpu_price, the basis every page prices a
    host without GPUs on). Today's host and the proposed one are both priced this way."""
    return cpu_price.vcpu_equivalents(vcpus, mem_gib)


def shape(cpu_need: float, mem_need_gib: float) -> tuple[int, int]:
    """The cheapest sold shape (vCPUs, GiB) with room for both needs; ties go to fewer vCPUs, then less memory."""
    fits = [(v, v * r) for v in VCPU_SIZES for r in FAMILY_GIB_PER_VCPU if v >= cpu_need and v * r >= mem_need_gib]
    if not fits:
        return VCPU_SIZES[-1], VCPU_SIZES[-1] * FAMILY_GIB_PER_VCPU[-1]
    return min(fits, key=lambda vm: (units(*vm), vm[0], vm[1]))


def check(host: HostStats, ctx: Context) -> list[Finding]:
    th = host.th
    cpu_p95 = p(host.cpu_hist, 95)
    if host.gpus or cpu_p95 is None or not host.enough_data() or not host.cpu_count or not host.mem_total_bytes:
        return []
    mem_peak_pct = 100 * (host.mem_used_max or 0) / host.mem_total_bytes
    if cpu_p95 >= th.host_cpu_p95_pct or mem_peak_pct >= th.host_mem_peak_pct:
        return []
    target = pct_to_fraction(th.target_util_pct)
    mem_gib_now = host.mem_total_bytes / 1024**3
    vcpus, mem_gib = shape(host.cpu_count * pct_to_fraction(cpu_p95) / target,
                           (host.mem_used_max or 0) * (1 + th.memory_margin) / target / 1024**3)  # fmt: skip
    now_units, new_units = units(host.cpu_count, mem_gib_now), units(vcpus, mem_gib)
    if new_units >= now_units:
        return []
    priced_as = (
        f"Each host priced by the larger of its vCPUs and its memory ÷ {GIB_PER_VCPU} GiB: today {now_units:g} "
        f"({host.cpu_count} vCPU, {mem_gib_now:.0f} GiB), proposed {new_units:g} ({vcpus} vCPU, {mem_gib} GiB)."
    )
    if host.price_usd is not None:
        now_usd = host.price_usd
        new_usd = host.price_usd * new_units / now_units
        now_note = f"${host.price_usd:.2f}/h for the host (your price)"
        new_note = f"your price × {new_units:g}/{now_units:g} vCPU-equivalents"
        cost = f"The host's price ${host.price_usd:.2f}/h × {new_units:g}/{now_units:g}, × 730 h a month."
    else:
        now_usd, new_usd = now_units * ctx.vcpu_hourly_usd, new_units * ctx.vcpu_hourly_usd
        now_note = cpu_price.host_label(host.cpu_count, host.mem_total_bytes, ctx.vcpu_hourly_usd)
        new_note = cpu_price.host_label(vcpus, mem_gib * cpu_price.GIB, ctx.vcpu_hourly_usd)
        cost = f"${ctx.vcpu_hourly_usd}/vCPU-h (RIGHTSIZER_VCPU_HOURLY_USD), × 730 h a month."
    if new_usd > now_usd * (1 - pct_to_fraction(th.min_saving_pct)):
        return []
    current = _config(host.cpu_count, mem_gib_now, now_usd, now_note)
    proposed = _config(vcpus, mem_gib, new_usd, new_note)
    return [
        Finding(
            kind="host_rightsize",
            target_type="host",
            target_key=f"host:{host.machine_id}",
            target_label=host.hostname,
            deployment=host.deployment,
            title=f"Right-size {host.hostname}: {vcpus} vCPU / {mem_gib} GiB "
            f"(now {host.cpu_count} vCPU / {host.mem_total_bytes / 1024**3:.0f} GiB)",
            reason=(
                f"CPU p95 is {cpu_p95:.0f}% of {host.cpu_count} vCPU and the memory peak is {mem_peak_pct:.0f}% "
                f"of {host.mem_total_bytes / 1024**3:.0f} GiB over {plural(round(host.window_s / 86400), 'day')}."
            ),
            action=f"Move to a host with about {vcpus} vCPU and {mem_gib} GiB.",
            evidence=[
                evidence(
                    "host CPU utilization",
                    "p95",
                    cpu_p95,
                    th.host_cpu_p95_pct,
                    "%",
                    host.window_s,
                    host.covered_s,
                    series("host", host.host_id, "cpu_pct", "p95"),
                ),
                evidence(
                    "host memory used",
                    "max",
                    mem_peak_pct,
                    th.host_mem_peak_pct,
                    "% of memory",
                    host.window_s,
                    host.covered_s,
                    series("host", host.host_id, "mem_used_pct", "max"),
                ),
            ],
            saving=Saving(
                round(current["usd_month"] - proposed["usd_month"], 2),
                0.0,
                0.0,
                arithmetic(cost, priced_as, "Energy not measured for CPUs."),
            ),
            confidence=confidence(host.covered_s, th.full_confidence_hours * 3600, cpu_p95, th.host_cpu_p95_pct),
            host_id=host.host_id,
            host_ids=frozenset({host.host_id}),
            current=current,
            proposed=proposed,
        )
    ]
