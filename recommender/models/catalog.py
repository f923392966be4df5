"""Catalog facts: GPU types and open model shapes, each with its source and date.

Loaded by a data migration (0002_catalog), editable in the admin. Prices are a
reference only: every saving names the price it used, and a user overrides it
per GPU type (price_override_usd) or per host (HostPrice).
"""

from __future__ import annotations

from django.db import models

GB = 1000**3


class GpuType(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # Lower-case substrings of the NVML name ("nvidia-smi --query-gpu=name") that
    # mean this type; among several matches the closest memory size wins.
    match_names = models.CharField(max_length=255, help_text="comma-separated, lower case")
    vendor = models.CharField(max_length=16, default="nvidia")
    # Consumer cards (GeForce) are not offered as a move for data-center GPUs:
    # their licence and clouds' offers differ, so they are advised only among themselves.
    consumer = models.BooleanField(default=False)
    memory_bytes = models.BigIntegerField()
    memory_bandwidth_gbps = models.FloatField(help_text="GB/s")
    tdp_w = models.FloatField()
    tflops_16bit = models.FloatField(help_text="dense bf16 (fp16 where bf16 is absent) tensor TFLOPS")
    bf16 = models.BooleanField(default=True)
    fp8 = models.BooleanField(default=False)
    int8 = models.BooleanField(default=True)
    spec_source = models.CharField(max_length=255)
    hourly_price_usd = models.FloatField(help_text="reference price per GPU-hour, USD")
    price_source = models.CharField(max_length=255)
    price_date = models.DateField()
    price_override_usd = models.FloatField(
        null=True, blank=True, help_text="your price per GPU-hour; used instead of the reference when set"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def price_usd(self) -> float:
        return self.hourly_price_usd if self.price_override_usd is None else self.price_override_usd

    @property
    def price_label(self) -> str:
        if self.price_override_usd is not None:
            return f"${self.price_override_usd:.2f}/GPU-h ({self.name}, your override)"
        return f"${self.hourly_price_usd:.2f}/GPU-h ({self.name}: {self.price_source}, {self.price_date:%Y-%m})"


class ModelSpec(models.Model):
    name = models.CharField(max_length=128, unique=True, help_text="the Hugging Face id")
    aliases = models.CharField(max_length=255, blank=True, help_text="comma-separated, lower case")
    params = models.FloatField(help_text="all parameters")
    layers = models.PositiveIntegerField()
    kv_heads = models.PositiveIntegerField()
    head_dim = models.PositiveIntegerField()
    embedding_params = models.FloatField(help_text="input embedding + output head (both, if untied)")
    default_dtype = models.CharField(max_length=16, default="bfloat16")
    source = models.CharField(max_length=255)
    source_date = models.DateField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
