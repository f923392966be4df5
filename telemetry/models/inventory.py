"""What runs where: hosts, their GPUs and the inference servers on them.

Upserted from every ingest payload (telemetry.inventory); samples point here.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from telemetry.identity import SHOWN_S as IDENTITY_CONFLICT_SHOWN_S

SERVER_KINDS = ["vllm", "tgi", "triton", "sglang", "torchserve", "other"]


class Host(models.Model):
    machine_id = models.CharField(
        max_length=128, unique=True, help_text="/etc/machine-id or the agent's own stable id."
    )
    hostname = models.CharField(max_length=255, db_index=True)
    cpu_count = models.PositiveIntegerField(null=True, blank=True)
    mem_total_bytes = models.BigIntegerField(null=True, blank=True)
    os = models.CharField(max_length=255, blank=True)
    instance_type = models.CharField(max_length=64, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    # telemetry.deployment.deployment_name over the labels, servers and hostname, stored at
    # each inventory sync: the one grouping every page, API and analysis reads.
    deployment = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    agent_version = models.CharField(max_length=32, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True, db_index=True)
    # sha256 of the inventory part of the last payload: an unchanged inventory
    # costs the ingest path one comparison instead of a round of upserts.
    inventory_hash = models.CharField(max_length=64, blank=True, editable=False)
    # {"gpus": {uuid: pk}, "servers": {server_id: pk}} as of that inventory, so
    # the one host lookup also gives the ids the sample rows point to.
    inventory_ids = models.JSONField(default=dict, blank=True, editable=False)
    # The GPU processes of the latest inventory change: [{gpu_uuid, pid, name, cmdline, gpu_mem_used}].
    gpu_processes = models.JSONField(default=list, blank=True, editable=False)
    # The oldest sample that arrived after the rollup passed its period; the
    # rollup task re-rolls this host from there and clears it.
    rollup_dirty_from = models.DateTimeField(null=True, blank=True, editable=False)
    agent_token = models.ForeignKey(
        "accounts.AgentToken", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    # Two agents pushing one machine id (telemetry.identity): the identities this host
    # recently left, and when and under which hostnames it last came back to one.
    identity_history = models.JSONField(default=list, blank=True, editable=False)
    identity_conflict_at = models.DateTimeField(null=True, blank=True, editable=False)
    identity_conflict_hostnames = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["hostname"]
        # The new-host limit counts a token's hosts of the last hour (telemetry.ratelimit_hosts).
        indexes = [models.Index(fields=["agent_token", "first_seen"], name="host_token_first_seen")]

    def __str__(self) -> str:
        return self.hostname

    def identity_conflict_shown(self) -> bool:
        """Whether the host page warns of two agents on this machine id: until a day after the last sign."""
        at = self.identity_conflict_at
        return at is not None and timezone.now() - at < timedelta(seconds=IDENTITY_CONFLICT_SHOWN_S)


class Gpu(models.Model):
    uuid = models.CharField(max_length=96, unique=True, help_text="nvidia-smi --query-gpu=uuid")
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="gpus")
    index = models.PositiveIntegerField(help_text="nvidia-smi --query-gpu=index")
    name = models.CharField(max_length=128, help_text="nvidia-smi --query-gpu=name")
    memory_total_bytes = models.BigIntegerField(help_text="nvidia-smi --query-gpu=memory.total")
    power_limit_w = models.FloatField(null=True, blank=True, help_text="enforced.power.limit")
    # False once the host's latest inventory no longer lists this GPU.
    active = models.BooleanField(default=True)
    first_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["host_id", "index"]

    def __str__(self) -> str:
        return f"{self.host} GPU {self.index} ({self.name})"


class InferenceServer(models.Model):
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="servers")
    server_id = models.CharField(max_length=128, help_text="The agent's id, e.g. 'vllm:8000'.")
    kind = models.CharField(max_length=16, choices=[(k, k) for k in SERVER_KINDS])
    model = models.CharField(max_length=255, blank=True)
    dtype = models.CharField(max_length=32, blank=True)
    quantization = models.CharField(max_length=32, blank=True)
    tensor_parallel = models.PositiveIntegerField(null=True, blank=True)
    max_batch_size = models.PositiveIntegerField(null=True, blank=True)
    gpus = models.ManyToManyField(Gpu, blank=True, related_name="servers")
    active = models.BooleanField(default=True)
    first_seen = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host_id", "server_id"]
        constraints = [
            models.UniqueConstraint(fields=["host", "server_id"], name="server_unique_per_host"),
        ]

    def __str__(self) -> str:
        return f"{self.server_id} on {self.host} ({self.model or self.kind})"
