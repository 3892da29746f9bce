"""A survey rule to start from (HQ adjusts it in the admin)."""

from django.db import migrations


def create(apps, schema_editor):
    SurveyRule = apps.get_model("feedback", "SurveyRule")
    SurveyRule.objects.create(
        name="After every visit",
        channels=[],
        outcomes=["resolved", "follow_up", "escalated"],
        delay_minutes=60,
        sampling_rate=0.5,
        min_days_between=30,
        expiry_days=7,
    )


def remove(apps, schema_editor):
    apps.get_model("feedback", "SurveyRule").objects.filter(name="After every visit").delete()


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
