"""The seeded handling policy (ISO 10002: acknowledge at once, respond in proportion to the
severity), in working days; HQ edits it in the admin."""

from django.db import migrations

# severity: (acknowledge within, respond within) working days; a copy of services.DEFAULT_DAYS
POLICY = {"low": (2, 10), "medium": (1, 5), "high": (1, 3), "critical": (0, 1)}


def create(apps, schema_editor):
    HandlingPolicy = apps.get_model("complaints", "HandlingPolicy")
    for severity, (acknowledge, respond) in POLICY.items():
        HandlingPolicy.objects.get_or_create(
            severity=severity,
            defaults={"acknowledge_days": acknowledge, "respond_days": respond},
        )


def remove(apps, schema_editor):
    apps.get_model("complaints", "HandlingPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
