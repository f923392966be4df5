"""A recommendation remembers when it was first acknowledged: the moment its before/after comparison splits at.

Rows acknowledged before this field existed take the time of their last status change, which for a row
still acknowledged is that acknowledgement. Resolved rows cannot tell whether they were acknowledged first,
so they stay without a date.
"""

from django.db import migrations, models
from django.db.models import F


def backfill(apps, schema_editor):
    Recommendation = apps.get_model("recommender", "Recommendation")
    Recommendation.objects.filter(status="acknowledged", acknowledged_at__isnull=True).update(
        acknowledged_at=F("status_changed_at")
    )


class Migration(migrations.Migration):
    dependencies = [("recommender", "0006_alter_deploymentthresholds_options")]
    operations = [
        migrations.AddField(
            model_name="recommendation",
            name="acknowledged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
