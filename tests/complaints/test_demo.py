"""The demo's complaints: typed texts, handling in every step, and the planted type found
by the engine while the branch's total complaint rate stays within the limits."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from complaints.models import ClassifierVersion, Complaint, ComplaintEvent, Status
from consistency.models import Case, Flag
from consistency.recompute import consistency_recompute


@pytest.mark.django_db
def test_the_demo_plants_a_type_the_engine_finds_and_not_the_total(tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    call_command("seed_demo", truth_file=truth_file, end=date(2026, 11, 16), verbosity=0)
    call_command("seed_complaints", truth_file=truth_file, verbosity=0)
    truth = json.loads(truth_file.read_text())
    [plant] = [p for p in truth["planted"] if p["kind"] == "wrong_amount_type"]
    assert plant["metric"] == "complaint_rate:wrong-amount"

    complaints = Complaint.objects.all()
    assert complaints.filter(type__isnull=False).count() > 0.9 * complaints.count()
    # Weeks old (the demo ends on 16 November): handled to the end, every step kept.
    assert set(complaints.values_list("status", flat=True)) == {Status.CLOSED}
    assert ComplaintEvent.objects.filter(action="close").count() == complaints.count()
    texts = " ".join(complaints.values_list("text", flat=True)).lower()
    assert " gk " in f" {texts} " or " ga " in f" {texts} "  # how customers write
    version = ClassifierVersion.objects.get()
    assert version.top1 > version.baseline + 0.3
    assert version.top3 >= version.top1

    consistency_recompute()
    branch = plant["branch"]
    [case] = Case.objects.filter(branch__code=branch, metric=plant["metric"])
    assert case.severity == "alarm"
    total = Flag.objects.filter(branch__code=branch, metric="complaint_rate")
    assert not total.exclude(severity="warning").exists()  # no alarm, no CUSUM signal
    assert not Case.objects.filter(branch__code=branch, metric="complaint_rate").exists()

    with pytest.raises(CommandError, match="exist already"):
        call_command("seed_complaints", truth_file=truth_file, verbosity=0)
    call_command("seed_complaints", truth_file=truth_file, if_empty=True, verbosity=0)
