"""GET /api/v1/hosts: the fleet as people's scripts read it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from accounts.readauth import READ_AUTH
from telemetry.models import Gpu, Host, InferenceServer

router = Router(tags=["read"], auth=READ_AUTH)


class GpuOut(Schema):
    uuid: str
    index: int
    name: str
    memory_total_bytes: int
    power_limit_w: float | None


class ServerOut(Schema):
    id: str
    kind: str
    model: str
    dtype: str
    quantization: str
    tensor_parallel: int | None
    max_batch_size: int | None


class HostOut(Schema):
    id: int
    hostname: str
    machine_id: str
    deployment: str
    labels: dict[str, str]
    instance_type: str
    cpu_count: int | None
    mem_total_bytes: int | None
    last_seen: datetime | None
    online: bool
    gpus: list[GpuOut]
    servers: list[ServerOut]
    open_recommendations: int


def _host_out(host: Host, online_since: datetime) -> dict:
    return {
        "id": host.pk, "hostname": host.hostname, "machine_id": host.machine_id, "deployment": host.deployment,
        "labels": host.labels, "instance_type": host.instance_type, "cpu_count": host.cpu_count,
        "mem_total_bytes": host.mem_total_bytes, "last_seen": host.last_seen,
        "online": bool(host.last_seen and host.last_seen >= online_since),
        "gpus": [{f: getattr(g, f) for f in GpuOut.model_fields} for g in host.active_gpus],
        "servers": [{**{f: getattr(s, f) for f in ServerOut.model_fields if f != "id"}, "id": s.server_id}
                    for s in host.active_servers],  # fmt: skip
        "open_recommendations": host.open_recommendations,
    }  # fmt: skip


@router.get("/hosts", response=list[HostOut], summary="Hosts, their GPUs and inference servers")
@paginate(LimitOffsetPagination)
def hosts(request, deployment: str | None = None, online: bool | None = None):
    """Every host with its active GPUs and servers. Filters: `deployment` (the stored one: the label, else
    the served model, else the hostname), `online` (seen in the last RIGHTSIZER_HOST_OFFLINE_AFTER_S
    seconds). Paginated with `limit` and `offset`."""
    online_since = timezone.now() - timedelta(seconds=settings.HOST_OFFLINE_AFTER_S)
    qs = Host.objects.annotate(
        open_recommendations=Count("recommendations", filter=Q(recommendations__status__in=["open", "acknowledged"]))
    ).prefetch_related(
        Prefetch("gpus", queryset=Gpu.objects.filter(active=True), to_attr="active_gpus"),
        Prefetch("servers", queryset=InferenceServer.objects.filter(active=True), to_attr="active_servers"),
    )
    if deployment is not None:
        qs = qs.filter(deployment=deployment)
    if online is not None:
        qs = qs.filter(last_seen__gte=online_since) if online else qs.exclude(last_seen__gte=online_since)
    return [_host_out(h, online_since) for h in qs.order_by("hostname", "pk")]
