"""The demo's planted QA divergence: one branch's counter staff skip "confirms the
amount"; the engine flags it against the standard and peers, week after week, and opens a
case that names the item, in English and Indonesian."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import translation

from consistency.case_words import case_sentence
from consistency.models import Case, Flag, TestKind
from consistency.recompute import consistency_recompute
from quality.models import Assignment, Review


@pytest.mark.django_db
def test_the_planted_skipped_amount_check_becomes_a_case_naming_the_item(
    tmp_path: Path,
) -> None:
    truth_file = tmp_path / "truth.json"
    call_command("seed_demo", truth_file=truth_file, end=date(2026, 11, 16), verbosity=0)
    call_command("seed_reviews", truth_file=truth_file, verbosity=0)
    truth = json.loads(truth_file.read_text())
    [plant] = [p for p in truth["planted"] if p["kind"] == "skips_amount_check"]
    consistency_recompute()

    # A quarter of sampled reviews, none by the agent reviewed, the last week still to do.
    assert Review.objects.filter(kind="regular").count() > 2000
    assert not Review.objects.filter(reviewer_id=F("agent_id")).exists()
    assert Assignment.objects.filter(review__isnull=True).exists()

    flags = Flag.objects.filter(
        branch__code=plant["branch"], metric=plant["metric"], channel__in=["all", "in_person"]
    ).exclude(severity="warning")
    assert {TestKind.STANDARD, TestKind.PEERS} <= set(flags.values_list("test", flat=True))
    assert len(set(flags.values_list("period_start", flat=True))) >= truth["weeks"] // 2

    case = Case.objects.get(branch__code=plant["branch"], metric=plant["metric"])
    assert "most failed item 'Confirms the amount with the customer'" in case_sentence(case)
    with translation.override("id"):
        assert "Mengonfirmasi jumlah uang kepada nasabah" in case_sentence(case)
    # Nobody else's reviews diverge enough for a case.
    others = Case.objects.filter(metric__startswith="qa_").exclude(branch__code=plant["branch"])
    assert not others.exists()


@pytest.mark.django_db
def test_seed_reviews_needs_the_demo_chain_and_runs_once(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="run seed_demo first"):
        call_command("seed_reviews", truth_file=tmp_path / "none.json", verbosity=0)
    truth_file = tmp_path / "truth.json"
    call_command(
        "seed_demo", truth_file=truth_file, branches=6, weeks=6, interactions=3000, verbosity=0
    )
    call_command("seed_reviews", truth_file=truth_file, verbosity=0)
    with pytest.raises(CommandError, match="exist already"):
        call_command("seed_reviews", truth_file=truth_file, verbosity=0)
    call_command("seed_reviews", truth_file=truth_file, if_empty=True, verbosity=0)
    # A reset demo chain takes its reviews along, and gets new ones.
    call_command(
        "seed_demo", truth_file=truth_file, branches=6, weeks=6, interactions=3000, reset=True,
        verbosity=0,
    )  # fmt: skip
    assert not Review.objects.exists()
    call_command("seed_reviews", truth_file=truth_file, verbosity=0)
    assert Review.objects.exists()
