"""The catalog holds one price tier, on-demand list prices: the A100 40GB had a community-cloud rate."""

from datetime import date

from django.db import migrations


def on_demand(apps, schema_editor):
    apps.get_model("recommender", "GpuType").objects.filter(name="A100 40GB").update(
        hourly_price_usd=1.29,
        price_source="Lambda on-demand 1× A100 40GB SXM4 (list price)",
        price_date=date(2026, 1, 1),
    )


class Migration(migrations.Migration):
    dependencies = [("recommender", "0004_plan_steps")]
    operations = [migrations.RunPython(on_demand, migrations.RunPython.noop)]
