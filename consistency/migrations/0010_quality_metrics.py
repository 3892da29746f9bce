"""Quality reviews join the rollups (SPEC §8): four counts, and the targets of qa_pass and
qa_critical_fail added to every version of the standard that has none."""

from django.db import migrations, models

CHANNELS = ["in_person", "phone", "email", "chat"]
# metric: (target, direction, minimum n, CUSUM h); a copy (consistency.defaults has the live one)
TARGETS = {
    "qa_pass": (0.80, "at_least", 10, 4.3),
    "qa_critical_fail": (0.05, "at_most", 10, 3.8),
}


def add_targets(apps, schema_editor):
    Standard = apps.get_model("consistency", "Standard")
    Target = apps.get_model("consistency", "Target")
    for standard in Standard.objects.all():
        for metric, (target, direction, min_n, cusum_h) in TARGETS.items():
            for channel in ["all", *CHANNELS]:
                Target.objects.get_or_create(
                    standard=standard,
                    metric=metric,
                    channel=channel,
                    defaults={
                        "target": target,
                        "direction": direction,
                        "min_n": min_n,
                        "cusum_h": cusum_h,
                    },
                )


def remove_targets(apps, schema_editor):
    apps.get_model("consistency", "Target").objects.filter(metric__in=list(TARGETS)).delete()


def count_field(label, help_text=""):
    return models.PositiveIntegerField(default=0, verbose_name=label, help_text=help_text)


class Migration(migrations.Migration):
    dependencies = [("consistency", "0009_translated_labels_and_summary_facts")]

    operations = [
        migrations.AddField("rollup", "qa_reviews", count_field("QA reviews")),
        migrations.AddField("rollup", "qa_passed", count_field("QA reviews passed")),
        migrations.AddField("rollup", "qa_critical_fails", count_field("QA critical fails")),
        migrations.AddField(
            "rollup",
            "qa_disputed",
            count_field("QA reviews disputed", "Counted, with a dispute still open."),
        ),
        migrations.RunPython(add_targets, remove_targets),
    ]
