"""The engine on a database: rollups by local day, flags that follow late data, idempotent
recomputes, and the demo chain's planted divergence found (and only it)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from branches.models import Branch, Role
from consistency import stats
from consistency.models import Case, DirtyDay, Flag, FlagStatus, PeriodKind, Rollup, TestKind
from consistency.notifications import case_events_notify
from consistency.recompute import consistency_recompute, dirty_days_recompute
from consistency.stats import Status
from interactions.models import Interaction
from interactions.services import interaction_delete, interaction_log, interaction_update
from tests.factories import (
    BranchFactory,
    InteractionFactory,
    MomentFactory,
    RegionFactory,
    UserFactory,
)

WEEK = date(2026, 3, 2)  # a Monday


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def rollup(branch: Branch, kind: str, start: date, channel: str = "all") -> Rollup:
    return Rollup.objects.get(branch=branch, kind=kind, period_start=start, channel=channel)


@pytest.mark.django_db
def test_rollups_count_each_metric_by_the_branch_local_day() -> None:
    oslo = BranchFactory.create(timezone="Europe/Oslo")
    sunday_night_utc = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 00:30 in Oslo
    rows: list[dict[str, Any]] = [
        {"wait_seconds": 10, "outcome": "resolved", "csat": 5, "nps": 10},
        {"wait_seconds": 30, "outcome": "resolved", "csat": 4, "nps": 6, "is_complaint": True},
        {"wait_seconds": 31, "outcome": "follow_up", "csat": 2},
        {"wait_seconds": 40, "outcome": "abandoned"},  # abandoned after the 30 s threshold
        {"wait_seconds": 5, "outcome": "abandoned"},  # abandoned quickly: not judged
        {"wait_seconds": None, "outcome": "resolved"},  # wait unknown
    ]
    for row in rows:
        InteractionFactory.create(branch=oslo, channel="phone", occurred_at=sunday_night_utc, **row)
    InteractionFactory.create(
        branch=oslo, channel="email", occurred_at=at(WEEK + timedelta(days=2)), wait_seconds=600
    )
    InteractionFactory.create(  # deleted: never counted
        branch=oslo, occurred_at=at(WEEK), deleted_at=at(WEEK), is_complaint=True
    )
    consistency_recompute()

    phone = rollup(oslo, PeriodKind.WEEK, WEEK, "phone")
    assert (phone.contacts, phone.not_abandoned, phone.abandonable, phone.abandoned) == (6, 4, 6, 2)
    assert (phone.response_n, phone.response_ok) == (4, 2)  # 10 s, 30 s of 10/30/31/40 s
    assert (phone.resolved, phone.complaints) == (3, 1)
    assert (phone.csat_n, phone.csat_ok, phone.nps_n, phone.promoters, phone.detractors) == (
        3, 2, 2, 1, 1,
    )  # fmt: skip
    everything = rollup(oslo, PeriodKind.WEEK, WEEK)
    assert (everything.contacts, everything.abandonable, everything.response_ok) == (7, 6, 3)
    assert rollup(oslo, PeriodKind.DAY, WEEK).contacts == 6  # Monday, local time
    assert rollup(oslo, PeriodKind.MONTH, date(2026, 3, 1)).contacts == 7
    assert not Rollup.objects.filter(period_start__lt=WEEK, kind=PeriodKind.DAY).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("since", [None, WEEK])
def test_one_pass_counts_every_branch_on_its_own_clock(since: date | None) -> None:
    """The rollups of branches in different time zones come from one query; an instant
    near midnight is each branch's own Sunday or Monday, also at the edges of ``since``."""
    zones = ["Pacific/Kiritimati", "Asia/Jakarta", "UTC", "America/New_York", "Pacific/Pago_Pago"]
    branches = {zone: BranchFactory.create(timezone=zone) for zone in zones}
    instants = [  # Sunday 10:00 and 20:00 UTC, Monday 10:59 UTC
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),  # Monday 00:00 at UTC+14, Saturday at UTC-11
        datetime(2026, 3, 1, 20, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 59, tzinfo=UTC),  # Tuesday at UTC+14, Sunday at UTC-11
    ]
    for branch in branches.values():
        for instant in instants:
            InteractionFactory.create(branch=branch, channel="phone", occurred_at=instant)
    with CaptureQueriesContext(connection) as queries:
        consistency_recompute(since=since)
    reads = [q["sql"] for q in queries if 'FROM "interactions_interaction"' in q["sql"]]
    passes = [sql for sql in reads if "GROUP BY" in sql]
    assert len(passes) == 1, reads  # one pass for all five zones
    # Besides it at most a probe for days before the standard's first version (LIMIT 1).
    assert all("LIMIT 1" in sql for sql in reads if sql not in passes), reads

    def monday(zone: str) -> int:
        found = Rollup.objects.filter(
            branch=branches[zone], kind=PeriodKind.DAY, period_start=WEEK
        ).first()
        return found.contacts if found else 0

    assert [monday(zone) for zone in zones] == [2, 2, 1, 1, 0]
    weeks = Rollup.objects.filter(kind=PeriodKind.WEEK, period_start=WEEK, channel="phone")
    assert sorted(r.contacts for r in weeks) == [1, 1, 2, 3]  # nothing at UTC-11 this week
    earlier = Rollup.objects.filter(kind=PeriodKind.WEEK, period_start=WEEK - timedelta(7))
    # What fell on a local Sunday or Saturday belongs to the week before (not rebuilt from
    # ``since`` on).
    assert sum(r.contacts for r in earlier.filter(channel="all")) == (0 if since else 15 - 7)


def diverging_chain(complaint_rate_at_first: float = 0.12) -> list[Branch]:
    """Six branches with 200 phone calls each in WEEK; the first has many complaints."""
    region = RegionFactory.create()
    branches = [BranchFactory.create(region=region, timezone="UTC") for _ in range(6)]
    for i, branch in enumerate(branches):
        rate = complaint_rate_at_first if i == 0 else 0.01
        complaints = round(200 * rate)
        for k in range(200):
            InteractionFactory.create(
                branch=branch,
                occurred_at=at(WEEK + timedelta(days=k % 7), 8 + k % 10),
                is_complaint=k < complaints,
                customer=None,
            )
    return branches


def complaint_flags(branch: Branch) -> Any:
    return Flag.objects.filter(
        branch=branch, metric="complaint_rate", channel="all", kind="week", period_start=WEEK
    )


@pytest.mark.django_db
def test_a_diverging_branch_is_flagged_on_both_tests_with_its_evidence() -> None:
    branches = diverging_chain()
    consistency_recompute()
    flags = {f.test: f for f in complaint_flags(branches[0])}
    assert set(flags) >= {TestKind.STANDARD, TestKind.PEERS}
    standard = flags[TestKind.STANDARD]
    assert (standard.severity, standard.status) == ("alarm", FlagStatus.OPEN)
    assert (standard.x, standard.n, standard.centre) == (24, 200, 0.02)
    assert standard.value == pytest.approx(0.12)
    assert standard.upper998 is not None
    assert standard.value > standard.upper998
    assert [e.action for e in standard.events.all()] == ["opened"]
    others = Flag.objects.filter(branch__in=branches[1:], metric="complaint_rate")
    assert not others.exclude(severity="warning").exists()


@pytest.mark.django_db
def test_late_data_updates_or_clears_the_same_flag_and_reopens_it() -> None:
    branches = diverging_chain()
    consistency_recompute()
    DirtyDay.objects.all().delete()
    admin = UserFactory.create(role=Role.ADMIN, is_superuser=True)
    flag = complaint_flags(branches[0]).get(test=TestKind.STANDARD)

    # Back-dated calls without complaints arrive late: 24 of 1 200 is 2 %, the standard.
    for k in range(1000):
        interaction_log(
            actor=admin,
            branch=branches[0],
            channel="phone",
            occurred_at=at(WEEK + timedelta(days=k % 7), 9),
            wait_seconds=15,
            outcome="resolved",
        )
    assert DirtyDay.objects.filter(branch=branches[0]).count() == 7
    dirty_days_recompute()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CLEARED
    assert complaint_flags(branches[0]).filter(test=TestKind.STANDARD).count() == 1
    assert not DirtyDay.objects.exists()

    # Deleting those calls again brings the divergence back: the same row reopens.
    for interaction in Interaction.objects.filter(branch=branches[0], wait_seconds=15):
        interaction_delete(actor=admin, interaction=interaction)
    dirty_days_recompute()
    flag.refresh_from_db()
    assert (flag.status, flag.n) == (FlagStatus.OPEN, 200)
    assert [e.action for e in flag.events.all()] == ["opened", "cleared", "reopened"]
    assert complaint_flags(branches[0]).filter(test=TestKind.STANDARD).count() == 1


@pytest.mark.django_db
def test_moving_an_interaction_makes_both_days_stale() -> None:
    branch = BranchFactory.create(timezone="America/New_York")
    admin = UserFactory.create(role=Role.ADMIN, is_superuser=True)
    call = InteractionFactory.create(branch=branch, occurred_at=datetime(2026, 3, 3, 2, tzinfo=UTC))
    DirtyDay.objects.all().delete()
    interaction_update(
        actor=admin, interaction=call, data={"occurred_at": datetime(2026, 3, 10, 15, tzinfo=UTC)}
    )
    # 02:00 UTC on 3 March is still 2 March in New York.
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {
        date(2026, 3, 2),
        date(2026, 3, 10),
    }


def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rollups = list(
        Rollup.objects.order_by("kind", "period_start", "branch_id", "channel").values_list(
            "kind", "period_start", "branch_id", "channel", "contacts", "complaints", "response_ok"
        )
    )
    flags = list(
        Flag.objects.order_by("id").values_list(
            "id", "branch_id", "metric", "channel", "period_start", "test", "severity", "status"
        )
    )
    return rollups, flags


@pytest.mark.django_db
def test_recompute_is_idempotent_even_after_an_interrupted_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    diverging_chain()
    consistency_recompute()
    first = snapshot()
    consistency_recompute()
    assert snapshot() == first

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("worker killed")

    Rollup.objects.all().delete()
    before_crash = snapshot()
    monkeypatch.setattr("consistency.recompute.cusum_refresh", crash)
    with pytest.raises(RuntimeError):
        consistency_recompute()
    assert snapshot() == before_crash  # nothing half-written
    monkeypatch.undo()
    consistency_recompute()
    assert snapshot() == first


@pytest.mark.django_db
def test_recompute_command_checks_its_arguments() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("recompute_consistency", since="last week", verbosity=0)
    with pytest.raises(CommandError, match="No branch"):
        call_command("recompute_consistency", branch=["nowhere"], verbosity=0)


@pytest.mark.django_db
def test_the_demo_chain_flags_what_was_planted_and_not_the_noisy_branch(tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    call_command("seed_demo", truth_file=truth_file, end=date(2026, 11, 16), verbosity=0)
    truth = json.loads(truth_file.read_text())
    consistency_recompute()
    alarms = Flag.objects.exclude(severity="warning")

    for planted in truth["planted"]:
        branch = Branch.objects.get(code=planted["branch"])
        mine = alarms.filter(branch=branch, period_start__gte=planted["from"])
        if not planted["expect_flag"]:
            assert not Flag.objects.filter(branch=branch).exists(), planted["kind"]
            continue
        metric_flags = mine.filter(metric=planted["metric"], channel=planted["channel"] or "all")
        tests = set(metric_flags.values_list("test", flat=True))
        assert {TestKind.STANDARD, TestKind.PEERS} <= tests, planted["kind"]
        if planted["kind"] == "sliding":
            # Healthy before the slide; the drift chart signals during it.
            start = date.fromisoformat(planted["from"])
            assert not alarms.filter(
                branch=branch, period_start__lt=start - timedelta(days=7), metric=planted["metric"]
            ).exists()
            assert mine.filter(test=TestKind.CUSUM).exists()
        else:
            weeks = set(metric_flags.values_list("period_start", flat=True))
            assert len(weeks) >= truth["weeks"] // 2, planted["kind"]  # persistent, not a blip


@pytest.mark.django_db
def test_insufficient_data_is_never_green() -> None:
    from consistency.selectors import metric_cells

    tiny = BranchFactory.create(timezone="UTC")
    for k in range(5):
        InteractionFactory.create(branch=tiny, occurred_at=at(WEEK, 9 + k))
    consistency_recompute()
    admin = UserFactory.create(role=Role.ADMIN, is_superuser=True)
    cells = metric_cells(actor=admin, kind="week", period_start=WEEK, channels=["all"])
    assert cells
    assert {c.standard.status for c in cells if c.standard} == {Status.INSUFFICIENT}
    assert not Flag.objects.exists()


@pytest.mark.django_db
def test_a_branch_moved_to_another_time_zone_has_its_history_re_dated() -> None:
    branch = BranchFactory.create(timezone="UTC")
    sunday_late = datetime(2026, 3, 8, 22, 30, tzinfo=UTC)  # Monday 00:30 in Moscow
    InteractionFactory.create_batch(3, branch=branch, occurred_at=sunday_late)
    InteractionFactory.create(branch=branch, occurred_at=at(WEEK))
    consistency_recompute()
    DirtyDay.objects.all().delete()
    assert rollup(branch, PeriodKind.WEEK, WEEK).contacts == 4

    admin = UserFactory.create(role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    form = {"region": branch.region_id, "code": branch.code, "name": branch.name}
    moved = client.post(
        f"/admin/branches/branch/{branch.pk}/change/",
        {**form, "timezone": "Europe/Moscow", "is_active": "on"},
    )
    assert moved.status_code == 302
    assert DirtyDay.objects.filter(branch=branch).count() >= 7
    dirty_days_recompute()
    assert rollup(branch, PeriodKind.WEEK, WEEK).contacts == 1
    assert rollup(branch, PeriodKind.WEEK, WEEK + timedelta(days=7)).contacts == 3
    after_move = snapshot()
    consistency_recompute()
    assert snapshot() == after_move  # the same as rebuilding from scratch


@pytest.mark.django_db
def test_the_cusum_flags_each_week_it_signals_in_with_the_weeks_last_value() -> None:
    branch = BranchFactory.create(timezone="UTC")
    fail, success = stats.cusum_weights(0.02)  # complaints: the standard allows 2 %
    # (day offset from WEEK, complaints of 10 calls): 6 complaints alone cross h = 3.4.
    for offset, complaints in [(0, 6), (8, 3), (9, 3), (10, 6)]:
        for k in range(10):
            InteractionFactory.create(
                branch=branch,
                occurred_at=at(WEEK + timedelta(days=offset), 9, k),
                is_complaint=k < complaints,
                outcome="resolved",
                wait_seconds=5,
            )
    consistency_recompute()
    flags = Flag.objects.filter(branch=branch, test=TestKind.CUSUM).order_by("period_start")
    charted = [(f.metric, f.period_start, f.x, f.n) for f in flags]
    assert charted == [
        ("complaint_rate", WEEK, 6, 10),
        ("complaint_rate", WEEK + timedelta(days=7), 12, 30),
    ]
    six = 6 * fail + 4 * success
    assert flags[0].cusum == pytest.approx(six)
    # Week two signals twice (3 + 3 complaints, then 6): the last value stands.
    assert flags[1].cusum == pytest.approx(six)
    first_of_week_two = 2 * (3 * fail + 7 * success)
    assert first_of_week_two >= 3.4
    assert abs(first_of_week_two - six) > 0.1


@pytest.mark.django_db
def test_a_flag_counts_the_failures_at_critical_moments_of_truth() -> None:
    branches = diverging_chain()
    critical = MomentFactory.create(is_critical=True)
    ordinary = MomentFactory.create(cycle=critical.cycle, is_critical=False)
    tuesday = at(WEEK + timedelta(days=1))
    for moment, complaint, csat in [
        (critical, True, None),  # counts
        (critical, False, 3),  # low CSAT: counts
        (critical, False, 4),  # satisfied
        (ordinary, True, 1),  # not a critical moment
    ]:
        InteractionFactory.create(
            branch=branches[0],
            occurred_at=tuesday,
            moment=moment,
            is_complaint=complaint,
            csat=csat,
        )
    consistency_recompute()
    assert rollup(branches[0], PeriodKind.WEEK, WEEK).critical_failures == 2
    assert {f.critical_moments for f in complaint_flags(branches[0])} == {2}


@pytest.mark.django_db
def test_a_new_case_of_a_recent_week_is_mailed_once_to_the_branchs_managers(
    django_capture_on_commit_callbacks: Any,
) -> None:
    today = timezone.localdate()
    last_week = today - timedelta(days=today.weekday() + 7)
    branches = diverging_chain()
    Interaction.objects.update(occurred_at=datetime.combine(last_week, time(10), tzinfo=UTC))
    old = BranchFactory.create(region=branches[1].region, timezone="UTC")  # diverged long ago
    for k in range(100):
        InteractionFactory.create(branch=old, occurred_at=at(WEEK), is_complaint=k < 30)
    region = branches[0].region
    manager = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[region], email="rm@x.test")
    UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[RegionFactory.create()], email="o@x.t")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        consistency_recompute()
    assert len(queued) == 1  # one notification task, once the recompute has committed
    cases = {c.branch_id: c for c in Case.objects.filter(metric="complaint_rate")}
    assert set(cases) == {branches[0].pk, old.pk}  # both in the queue
    assert case_events_notify() == 1  # only the recent one is e-mailed
    assert case_events_notify() == 0  # delivered twice: sent once
    [message] = mail.outbox
    assert message.to == [manager.email]
    assert branches[0].code in message.body
    assert old.code not in message.body

    with django_capture_on_commit_callbacks(execute=False) as queued:
        consistency_recompute()
    assert queued == []  # nothing new: nobody hears twice
    assert Case.objects.filter(metric="complaint_rate").count() == 2


@pytest.mark.django_db
def test_a_new_version_changes_the_response_threshold_from_its_first_day() -> None:
    """Waits are judged by the threshold of the version in force on their local day, and a
    wait before the first version has none (it counts in n, never as within the standard)."""
    from consistency.models import Standard, Target

    branch = BranchFactory.create(timezone="UTC")
    first = Standard.objects.get()
    later = Standard.objects.create(name="Slower phones", effective_from=WEEK + timedelta(days=2))
    for target in Target.objects.filter(standard=first):
        target.pk, target.standard = None, later
        if target.metric == "response_within_standard" and target.channel == "phone":
            target.threshold_seconds = 60
        target.save()
    for when in (WEEK, WEEK + timedelta(days=3)):  # Monday under 30 s, Thursday under 60 s
        InteractionFactory.create(
            branch=branch, channel="phone", wait_seconds=45, occurred_at=at(when)
        )
    early = first.effective_from - timedelta(days=2)
    InteractionFactory.create(branch=branch, channel="phone", wait_seconds=5, occurred_at=at(early))
    consistency_recompute()

    def response(start: date) -> tuple[int, int]:
        found = rollup(branch, PeriodKind.DAY, start)
        return found.response_n, found.response_ok

    assert response(WEEK) == (1, 0)
    assert response(WEEK + timedelta(days=3)) == (1, 1)
    assert response(early) == (1, 0)


@pytest.mark.django_db
def test_one_threshold_for_all_days_when_no_version_changed_it() -> None:
    """With one threshold per channel and no day before the first version, the counting
    pass reads no local day for it (and needs no fence)."""
    from consistency.rollups import DayRange, _day_counts

    InteractionFactory.create(occurred_at=at(WEEK))
    sql, _ = _day_counts(DayRange())
    assert "OFFSET 0" not in sql
    local_day = "AT TIME ZONE" if connection.vendor == "postgresql" else "django_datetime_cast_date"
    assert sql.count(local_day) == 1  # the grouping key only
