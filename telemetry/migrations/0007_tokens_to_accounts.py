"""The token models now belong to accounts (accounts/migrations/0001_initial.py): state only, no table
changes. Their content types follow, so permissions given on them keep working."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["agenttoken", "apitoken"]


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        old = ContentType.objects.filter(app_label="telemetry", model=model)
        if ContentType.objects.filter(app_label="accounts", model=model).exists():
            old.delete()  # made already (a migrate interrupted after post_migrate): keep the new one
        else:
            old.update(app_label="accounts")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="accounts", model__in=MOVED).update(app_label="telemetry")


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0006_host_identity_conflict"),
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="host",
                    name="agent_token",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="accounts.agenttoken",
                    ),
                ),
                migrations.DeleteModel(name="ApiToken"),
                migrations.DeleteModel(name="AgentToken"),
            ]
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
