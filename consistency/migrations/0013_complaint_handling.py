"""The customer's word on complaint handling joins the rollups (SPEC §10): two counts and
the targets of complaint_handling_satisfied."""

from django.db import migrations, models

CHANNELS = ["in_person", "phone", "email", "chat"]
# (target, direction, minimum n, CUSUM h): a copy (consistency.defaults has the live one).
HANDLING = ("complaint_handling_satisfied", 0.80, "at_least", 10, 4.3)


def add_targets(apps, schema_editor):
    """The handling metric's targets, in every version of the standard that has none."""
    Standard = apps.get_model("consistency", "Standard")
    Target = apps.get_model("consistency", "Target")
    metric, target, direction, min_n, cusum_h = HANDLING
    for standard in Standard.objects.all():
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
    apps.get_model("consistency", "Target").objects.filter(metric=HANDLING[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consistency", "0012_complaint_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollup",
            name="handling_n",
            field=models.PositiveIntegerField(default=0, verbose_name="complaint handling answers"),
        ),
        migrations.AddField(
            model_name="rollup",
            name="handling_ok",
            field=models.PositiveIntegerField(
                default=0, verbose_name="complaint handling satisfied"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="metric",
            field=models.CharField(
                choices=[
                    ("response_within_standard", "Response within standard"),
                    ("first_contact_resolution", "First-contact resolution"),
                    ("abandonment_rate", "Abandonment rate"),
                    ("complaint_rate", "Complaint rate"),
                    ("csat_satisfied", "CSAT satisfied (4-5)"),
                    ("nps", "Net promoter score"),
                    ("qa_pass", "QA reviews passed"),
                    ("qa_critical_fail", "QA critical fails"),
                    ("complaint_handling_satisfied", "Complaint handling satisfied (4-5)"),
                ],
                max_length=80,
                verbose_name="metric",
            ),
        ),
        migrations.AlterField(
            model_name="flag",
            name="metric",
            field=models.CharField(
                choices=[
                    ("response_within_standard", "Response within standard"),
                    ("first_contact_resolution", "First-contact resolution"),
                    ("abandonment_rate", "Abandonment rate"),
                    ("complaint_rate", "Complaint rate"),
                    ("csat_satisfied", "CSAT satisfied (4-5)"),
                    ("nps", "Net promoter score"),
                    ("qa_pass", "QA reviews passed"),
                    ("qa_critical_fail", "QA critical fails"),
                    ("complaint_handling_satisfied", "Complaint handling satisfied (4-5)"),
                ],
                max_length=80,
                verbose_name="metric",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltarget",
            name="metric",
            field=models.CharField(
                choices=[
                    ("response_within_standard", "Response within standard"),
                    ("first_contact_resolution", "First-contact resolution"),
                    ("abandonment_rate", "Abandonment rate"),
                    ("complaint_rate", "Complaint rate"),
                    ("csat_satisfied", "CSAT satisfied (4-5)"),
                    ("nps", "Net promoter score"),
                    ("qa_pass", "QA reviews passed"),
                    ("qa_critical_fail", "QA critical fails"),
                    ("complaint_handling_satisfied", "Complaint handling satisfied (4-5)"),
                ],
                max_length=32,
                verbose_name="metric",
            ),
        ),
        migrations.AlterField(
            model_name="target",
            name="metric",
            field=models.CharField(
                choices=[
                    ("response_within_standard", "Response within standard"),
                    ("first_contact_resolution", "First-contact resolution"),
                    ("abandonment_rate", "Abandonment rate"),
                    ("complaint_rate", "Complaint rate"),
                    ("csat_satisfied", "CSAT satisfied (4-5)"),
                    ("nps", "Net promoter score"),
                    ("qa_pass", "QA reviews passed"),
                    ("qa_critical_fail", "QA critical fails"),
                    ("complaint_handling_satisfied", "Complaint handling satisfied (4-5)"),
                ],
                max_length=32,
                verbose_name="metric",
            ),
        ),
        migrations.RunPython(add_targets, remove_targets),
    ]
