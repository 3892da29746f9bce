"""The chain standard of SPEC §3, in force from the start (editable in the admin)."""

from datetime import date

from django.db import migrations

CHANNELS = ["in_person", "phone", "email", "chat"]
RESPONSE_THRESHOLDS = {"in_person": 60, "phone": 30, "chat": 60, "email": 14_400}
# metric: (target, direction, the channels it applies to besides "all")
TARGETS = {
    "response_within_standard": (0.80, "at_least", CHANNELS),
    "first_contact_resolution": (0.75, "at_least", CHANNELS),
    "abandonment_rate": (0.05, "at_most", ["in_person", "phone", "chat"]),
    "complaint_rate": (0.02, "at_most", CHANNELS),
    "csat_satisfied": (0.85, "at_least", CHANNELS),
    "nps": (0.30, "at_least", CHANNELS),
}
# CUSUM decision thresholds, calibrated by simulation (benchmarks/cusum_calibration.py)
# for about one false alarm per branch and metric a year at typical volume.
CUSUM_H = {
    "response_within_standard": 4.3,
    "first_contact_resolution": 4.3,
    "abandonment_rate": 3.8,
    "complaint_rate": 3.4,
    "csat_satisfied": 3.8,
    "nps": 4.0,  # not charted: NPS is not a Bernoulli outcome
}


def create(apps, schema_editor):
    Standard = apps.get_model("consistency", "Standard")
    Target = apps.get_model("consistency", "Target")
    standard = Standard.objects.create(
        name="Chain standard", effective_from=date(2000, 1, 1), notes="SPEC §3 defaults."
    )
    for metric, (target, direction, channels) in TARGETS.items():
        for channel in ["all", *channels]:
            Target.objects.create(
                standard=standard,
                metric=metric,
                channel=channel,
                target=target,
                direction=direction,
                min_n=20,
                threshold_seconds=RESPONSE_THRESHOLDS.get(channel)
                if metric == "response_within_standard"
                else None,
                cusum_h=CUSUM_H[metric],
            )


def remove(apps, schema_editor):
    apps.get_model("consistency", "Standard").objects.filter(effective_from=date(2000, 1, 1)).delete()


class Migration(migrations.Migration):
    dependencies = [("consistency", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
