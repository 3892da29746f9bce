"""Cases: opened only on evidence that survives the multiple-testing control, fed by later
flags, resolved after quiet weeks, reopened on relapse, withdrawn when the evidence goes,
announced once per event, pooled within peer groups, seen only within reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from branches.models import Branch, Region, Role
from consistency.cases import last_complete_week
from consistency.lifecycle import case_transition
from consistency.models import Case, Flag, FlagStatus
from consistency.notifications import case_events_notify
from consistency.recompute import consistency_recompute
from interactions.models import Interaction
from tests.factories import BranchFactory, InteractionFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db
WEEK = timedelta(days=7)
COMPLAINTS = "complaint_rate"


def calls(branch: Branch, monday: date, count: int, complaints: int) -> None:
    """``count`` resolved phone calls over the week of ``monday``, ``complaints`` of them
    complaints."""
    Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=branch,
            channel="phone",
            occurred_at=datetime(monday.year, monday.month, monday.day, 9, tzinfo=UTC)
            + timedelta(days=i % 5, minutes=i),
            wait_seconds=10,
            outcome="resolved",
            is_complaint=i < complaints,
            customer=None,
        )
        for i in range(count)
    )


def chain(size: int = 12, region: Region | None = None, **branch: Any) -> list[Branch]:
    region = region or RegionFactory.create()
    return [BranchFactory.create(region=region, timezone="UTC", **branch) for _ in range(size)]


def weeks_of(branches: list[Branch], monday: date, worst: int, others: int = 2) -> None:
    """A week of 100 calls per branch: the first with ``worst`` complaints."""
    for i, branch in enumerate(branches):
        calls(branch, monday, 100, worst if i == 0 else others)


def complaint_cases(branch: Branch) -> Any:
    return Case.objects.filter(branch=branch, metric=COMPLAINTS)


OLD = date(2026, 3, 2)  # a Monday long past: openings are queued, not e-mailed


def test_a_strong_divergence_opens_one_case_that_gathers_its_flags() -> None:
    branches = chain()
    weeks_of(branches, OLD, worst=40)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    flags = Flag.objects.filter(branch=branches[0], metric=COMPLAINTS)
    assert set(flags.values_list("case", flat=True)) == {case.pk}
    assert flags.filter(discovery=True).exists()
    assert (case.status, case.severity, case.first_period, case.periods) == (
        "open", "alarm", OLD, 1,
    )  # fmt: skip
    assert {"standard", "peers"} <= set(case.tests)
    assert case.channels == ["all", "phone"]
    assert case.summary.startswith(f"Complaint rate at {branches[0].code}: 40 % (40 of 100)")
    assert [e.action for e in case.events.all()] == ["opened"]
    assert not Case.objects.exclude(branch=branches[0]).exists()
    consistency_recompute()  # again: the same case, nothing new
    assert Case.objects.count() == 1
    assert case.events.count() == 1


def test_later_weeks_join_the_open_case_instead_of_opening_another() -> None:
    branches = chain()
    weeks_of(branches, OLD, worst=40)
    weeks_of(branches, OLD + WEEK, worst=30)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    assert (case.first_period, case.last_period, case.periods, case.alarm_periods) == (
        OLD, OLD + WEEK, 2, 2,
    )  # fmt: skip
    assert Flag.objects.filter(branch=branches[0], case__isnull=True).count() == 0


def test_a_lone_warning_is_evidence_but_never_a_case() -> None:
    """6 complaints in 100 against 2 %: beyond the 95 % limit, but one of hundreds of tests
    that period, and nowhere near a discovery."""
    branches = chain()
    weeks_of(branches, OLD, worst=6)
    consistency_recompute()
    flag = Flag.objects.get(branch=branches[0], metric=COMPLAINTS, channel="all", test="standard")
    assert flag.severity == "warning"
    assert flag.p_value is not None
    assert 0.001 < flag.p_value < 0.05
    assert flag.discovery is False
    assert not Case.objects.exists()


def test_flags_in_two_of_three_weeks_open_a_case_that_neither_week_opens_alone() -> None:
    """8 in 100 against 2 %: an alarm, but not a discovery among the period's hundreds of
    tests; twice in a row it is."""
    branches = chain()
    weeks_of(branches, OLD, worst=8)
    consistency_recompute()
    assert Flag.objects.filter(branch=branches[0], severity="alarm").exists()
    assert not Case.objects.exists()
    weeks_of(branches, OLD + WEEK, worst=8)
    consistency_recompute(since=OLD + WEEK)
    [case] = complaint_cases(branches[0])
    assert case.first_period == OLD  # the first week joins it as evidence
    assert case.periods == 2
    found = Flag.objects.filter(branch=branches[0], discovery=True)
    assert set(found.values_list("period_start", flat=True)) == {OLD + WEEK}


def test_a_case_resolves_itself_after_three_complete_weeks_back_within_the_limits() -> None:
    last = last_complete_week()
    start = last - 3 * WEEK
    branches = chain()
    weeks_of(branches, start, worst=40)
    for k in (1, 2):
        weeks_of(branches, start + k * WEEK, worst=2)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    assert (case.status, case.quiet_periods) == ("open", 2)
    weeks_of(branches, last, worst=2)
    consistency_recompute(since=last)
    case.refresh_from_db()
    assert case.status == "resolved"
    resolved = case.events.get(action="resolved")
    assert resolved.actor is None
    assert "3 complete weeks" in resolved.note


def test_a_relapse_within_eight_weeks_reopens_the_same_case_later_ones_open_a_new_one(
    chain_user: Any,
) -> None:
    branches = chain()
    weeks_of(branches, OLD, worst=40)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    manager = chain_user(branches[0])
    case_transition(actor=manager, case=case, action="resolve", note="Retrained.")
    Case.objects.filter(pk=case.pk).update(resolved_at=datetime(2026, 3, 9, 9, tzinfo=UTC))
    weeks_of(branches, OLD + 3 * WEEK, worst=40)
    consistency_recompute()
    [same] = complaint_cases(branches[0])
    assert same.pk == case.pk
    assert same.status == "open"
    assert [e.action for e in same.events.all()][-1] == "reopened"
    case_transition(actor=manager, case=same, action="resolve", note="Again.")
    Case.objects.filter(pk=case.pk).update(resolved_at=datetime(2026, 3, 23, 9, tzinfo=UTC))
    weeks_of(branches, OLD + 14 * WEEK, worst=40)
    consistency_recompute()
    cases = list(complaint_cases(branches[0]).order_by("id"))
    assert [c.status for c in cases] == ["resolved", "open"]
    assert cases[1].first_period >= OLD + 12 * WEEK


def test_late_data_that_removes_the_evidence_withdraws_the_case() -> None:
    branches = chain()
    weeks_of(branches, OLD, worst=40)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    Interaction.objects.filter(branch=branches[0], is_complaint=True).update(is_complaint=False)
    consistency_recompute()
    case.refresh_from_db()
    assert case.status == "withdrawn"
    assert case.events.filter(action="withdrawn").exists()
    assert (
        not Flag.objects.filter(branch=branches[0], metric=COMPLAINTS)
        .exclude(status=FlagStatus.CLEARED)
        .exists()
    )


def test_peers_are_the_branchs_group_when_it_has_eight_with_data_else_the_chain() -> None:
    region = RegionFactory.create()
    kiosks = chain(9, region, peer_group="kiosk")
    flagships = chain(9, region, peer_group="flagship")
    lonely = chain(3, region, peer_group="pop-up")
    for branch in kiosks:
        calls(branch, OLD, 100, 7)  # kiosks complain more, all of them
    for branch in [*flagships, *lonely]:
        calls(branch, OLD, 100, 1)
    calls(flagships[0], OLD + WEEK, 100, 7)
    for branch in [*flagships[1:], *kiosks, *lonely]:
        calls(branch, OLD + WEEK, 100, 1)
    consistency_recompute()
    kiosk_peers = Flag.objects.filter(
        branch__in=kiosks, test="peers", metric=COMPLAINTS, period_start=OLD
    )
    assert not kiosk_peers.exists()  # 7 % is ordinary among kiosks
    kiosk_standard = Flag.objects.filter(branch__in=kiosks, test="standard", metric=COMPLAINTS)
    assert kiosk_standard.exists()  # but not against the chain's standard of 2 %
    flagship = Flag.objects.get(
        branch=flagships[0], test="peers", metric=COMPLAINTS, channel="all", period_start=OLD + WEEK
    )
    assert flagship.peer_group == "flagship"  # against the other flagships at 1 %
    # A group of three is too small to pool: those branches are judged against the chain.
    assert {f.peer_group for f in Flag.objects.filter(test="peers", branch__in=lonely)} <= {""}


def test_each_case_event_is_one_email_and_flags_are_never_emailed(chain_user: Any) -> None:
    last = last_complete_week()
    branches = chain()
    rm = UserFactory.create(
        role=Role.REGIONAL_MANAGER, regions=[branches[0].region], email="rm@x.test"
    )
    weeks_of(branches, last - WEEK, worst=9)
    weeks_of(branches, last, worst=9)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    flags = Flag.objects.filter(case=case).count()
    assert flags >= 4  # weeks, channels and tests: still one e-mail
    assert case_events_notify() == 1
    assert mail.outbox[-1].to == [rm.email]
    assert "New case" in mail.outbox[-1].subject
    assert case_events_notify() == 0
    consistency_recompute()
    assert case_events_notify() == 0  # recomputing announces nothing new


def test_a_case_is_seen_only_within_reach(chain_user: Any) -> None:
    branches = chain()
    weeks_of(branches, OLD, worst=40)
    consistency_recompute()
    [case] = complaint_cases(branches[0])
    outsider = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[RegionFactory.create()])
    insider = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[branches[0].region])
    for user, expected in ((outsider, 404), (insider, 200)):
        client = Client()
        client.force_login(user)
        assert client.get(f"/cases/{case.pk}/").status_code == expected
        api = APIClient()
        api.force_authenticate(user)
        assert api.get(f"/api/v1/cases/{case.pk}/").status_code == expected
        listed = [c["id"] for c in api.get("/api/v1/cases/").json()["results"]]
        assert listed == ([case.pk] if expected == 200 else [])
        queue = client.get("/cases/?format=csv").getvalue().decode()
        assert (branches[0].code in queue) == (expected == 200)


@pytest.fixture
def chain_user() -> Any:
    def make(branch: Branch) -> Any:
        return UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[branch.region])

    return make
