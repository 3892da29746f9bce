"""seed_demo builds the same chain from the same seed, and the planted truth is in the data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Avg, Case, Count, FloatField, When

from branches.models import Branch, Role, User
from consistency import models as engine
from consistency.case_selectors import case_queue
from consistency.recompute import consistency_recompute
from customers.models import Customer
from interactions.models import Interaction
from interactions.partitions import DEFAULT_PARTITION, month_of, partition_name

SMALL: dict[str, Any] = {
    "branches": 8,
    "weeks": 8,
    "interactions": 8000,
    "end": date(2026, 11, 16),
    "verbosity": 0,
}


def seed(tmp_path: Path, **options: object) -> dict:
    truth = tmp_path / "truth.json"
    call_command("seed_demo", truth_file=truth, **{**SMALL, **options})
    return json.loads(truth.read_text())


def fingerprint() -> list[tuple]:
    return list(
        Interaction.objects.order_by(
            "occurred_at", "branch__code", "wait_seconds", "id"
        ).values_list(
            "branch__code",
            "channel",
            "direction",
            "occurred_at",
            "wait_seconds",
            "handle_seconds",
            "outcome",
            "topic",
            "is_complaint",
            "csat",
            "nps",
            "customer__email",
            "staff__username",
            "moment__name",
            "external_id",
        )
    )


@pytest.mark.django_db
def test_same_seed_gives_the_same_chain_and_another_seed_does_not(tmp_path: Path) -> None:
    first_truth = seed(tmp_path)
    first = fingerprint()
    customers = list(
        Customer.objects.order_by("email").values_list("name", "email", "home_branch__code")
    )
    assert len(first) == SMALL["interactions"]

    second_truth = seed(tmp_path, reset=True)
    assert fingerprint() == first
    assert (
        list(Customer.objects.order_by("email").values_list("name", "email", "home_branch__code"))
        == customers
    )
    assert second_truth == first_truth

    seed(tmp_path, reset=True, seed=7)
    assert fingerprint() != first


@pytest.mark.django_db
def test_chain_has_every_role_channel_and_very_different_branch_sizes(tmp_path: Path) -> None:
    truth = seed(tmp_path)
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.get(username="admin").check_password("demo1234")
    assert set(Interaction.objects.values_list("channel", flat=True)) == {
        "in_person",
        "phone",
        "email",
        "chat",
    }
    sizes = sorted(truth["branches"][code]["interactions"] for code in truth["branches"])
    assert sizes[-1] > 10 * sizes[0]
    assert Interaction.objects.filter(csat__isnull=False).count() > 0.2 * SMALL["interactions"]
    assert Interaction.objects.filter(nps__isnull=False).count() > 0.1 * SMALL["interactions"]
    assert Interaction.objects.filter(moment__is_critical=True).exists()
    for branch in Branch.objects.all():
        assert branch.staff.filter(role=Role.BRANCH_MANAGER).count() == 1
        assert branch.staff.filter(role=Role.AGENT).exists()
    # Every timestamp falls inside the seeded weeks.
    start, end = date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])
    assert all(
        start <= i.date() <= end for i in Interaction.objects.values_list("occurred_at", flat=True)
    )


def branch_rates(**filters: object) -> dict[str, dict[str, float]]:
    answered_in_time = Case(
        When(channel="phone", wait_seconds__lte=30, then=1.0),
        When(channel="in_person", wait_seconds__lte=60, then=1.0),
        When(channel="chat", wait_seconds__lte=60, then=1.0),
        When(channel="email", wait_seconds__lte=14_400, then=1.0),
        default=0.0,
        output_field=FloatField(),
    )
    rows = (
        Interaction.objects.filter(**filters)
        .values("branch__code")
        .annotate(
            n=Count("id"),
            in_time=Avg(answered_in_time),
            complaints=Avg(
                Case(When(is_complaint=True, then=1.0), default=0.0, output_field=FloatField())
            ),
            resolved=Avg(
                Case(When(outcome="resolved", then=1.0), default=0.0, output_field=FloatField())
            ),
        )
    )
    return {r["branch__code"]: r for r in rows}


@pytest.mark.django_db
def test_planted_truth_matches_the_data(tmp_path: Path) -> None:
    truth = seed(tmp_path)
    planted = {p["kind"]: p for p in truth["planted"]}
    counts = dict(Interaction.objects.values_list("branch__code").annotate(Count("id")))
    assert counts == {code: b["interactions"] for code, b in truth["branches"].items()}
    assert truth["interactions"] == sum(counts.values())

    phone = branch_rates(channel="phone")
    slow = planted["slow_phone"]["branch"]
    others = [r["in_time"] for code, r in phone.items() if code != slow and r["n"] >= 50]
    assert phone[slow]["in_time"] < 0.65 < 0.8 < median(others)

    everything = branch_rates()
    noisy = planted["high_complaints"]["branch"]
    typical = median(r["complaints"] for code, r in everything.items() if code != noisy)
    assert everything[noisy]["complaints"] > 3 * typical

    sliding = planted["sliding"]["branch"]
    earlier = branch_rates(branch__code=sliding, occurred_at__date__lt=planted["sliding"]["from"])
    last_weeks = branch_rates(
        branch__code=sliding, occurred_at__date__gte=planted["sliding"]["from"]
    )
    assert last_weeks[sliding]["in_time"] < earlier[sliding]["in_time"] - 0.15
    assert last_weeks[sliding]["resolved"] < earlier[sliding]["resolved"] - 0.05

    small = planted["noisy_small"]["branch"]
    assert counts[small] == min(counts.values())
    assert (
        abs(everything[small]["resolved"] - median(r["resolved"] for r in everything.values()))
        < 0.15
    )
    assert planted["noisy_small"]["expect_flag"] is False


@pytest.mark.django_db
def test_existing_data_is_never_overwritten_silently(tmp_path: Path) -> None:
    seed(tmp_path)
    before = Interaction.objects.count()
    call_command("seed_demo", if_empty=True, verbosity=0)
    assert Interaction.objects.count() == before
    with pytest.raises(CommandError, match="--reset"):
        seed(tmp_path)
    assert Interaction.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"branches": "2"}, "out of range"),
        ({"weeks": "3"}, "out of range"),
        ({"interactions": "lots"}, "not a whole number"),
        ({"end": "2026-11-18"}, "must be a Monday"),
        ({"end": "yesterday"}, "not a date"),
        ({"regions": "5"}, "out of range"),
    ],
)
def test_bad_arguments_fail_with_a_message(
    tmp_path: Path, options: dict[str, str], message: str
) -> None:
    args = [f"--{k}={v}" for k, v in options.items()]
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, f"--truth-file={tmp_path / 't.json'}", verbosity=0)
    assert not Branch.objects.exists()


@pytest.mark.django_db
def test_all_branches_can_go_into_one_region(tmp_path: Path) -> None:
    seed(tmp_path, regions=1, interactions=800)
    regions = set(Branch.objects.values_list("region__code", flat=True))
    assert regions == {"north"}
    assert Branch.objects.count() == SMALL["branches"]
    assert User.objects.filter(username="rm.north").exists()
    assert not User.objects.filter(username="rm.east").exists()


@pytest.mark.django_db
def test_the_readme_demo_gives_one_case_per_planted_divergence(tmp_path: Path) -> None:
    """As `make run` seeds it (the defaults): every planted divergence is a case, the tiny
    noisy branch is not, and rm.east's queue is short enough to work."""
    call_command("seed_demo", truth_file=tmp_path / "truth.json", verbosity=0)
    consistency_recompute()
    open_cases = engine.Case.objects.filter(status__in=engine.Case.OPEN_STATUSES)
    found = set(open_cases.values_list("branch__code", "metric"))
    assert found == {  # the README's walk-through names these five
        ("cen-02", "response_within_standard"),
        ("eas-04", "complaint_rate"),
        ("nor-05", "response_within_standard"),
        ("nor-05", "first_contact_resolution"),
        ("nor-05", "csat_satisfied"),
    }
    assert not engine.Case.objects.filter(branch__code="eas-24").exists()
    east = case_queue(actor=User.objects.get(username="rm.east"))
    assert 1 <= east.filter(status__in=engine.Case.OPEN_STATUSES).count() <= 10
    assert open_cases.count() <= 10
    case = open_cases.get(branch__code="eas-04")
    assert "worst at 'Count the money'" in case.summary


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
@pytest.mark.django_db
def test_the_history_lands_in_its_months_partitions(tmp_path: Path) -> None:
    """Every month of the seeded history has its partition before the rows arrive: none
    waits in the default partition for beat to move it."""
    seed(tmp_path)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM interactions_interaction GROUP BY 1"
        )
        counts = dict(cursor.fetchall())
    assert DEFAULT_PARTITION not in counts
    first = Interaction.objects.earliest("occurred_at").occurred_at
    assert partition_name(month_of(first)) in counts
    assert sum(counts.values()) == SMALL["interactions"]
