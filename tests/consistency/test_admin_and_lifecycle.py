"""The engine's admin pages, scoped like the rest, and the case lifecycle services."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from branches.models import Branch, Role
from consistency.lifecycle import case_transition
from consistency.models import Case, CaseStatus, Flag
from tests.conftest import Chain
from tests.factories import UserFactory

PAGES = [
    "consistency/standard",
    "consistency/flag",
    "consistency/rollup",
    "consistency/dirtyday",
    "consistency/consistencyindex",
]


def case_at(branch: Branch, status: str = CaseStatus.OPEN) -> Case:
    return Case.objects.create(
        branch=branch,
        metric="complaint_rate",
        status=status,
        severity="alarm",
        rank=0,
        first_period=date(2026, 3, 2),
        last_period=date(2026, 3, 2),
        periods=1,
        x=24,
        n=200,
        value=0.12,
        target=0.02,
        summary="Complaint rate at the branch: 12 % (24 of 200)",
    )


def flag_at(branch: Branch) -> Flag:
    return Flag.objects.create(
        branch=branch,
        metric="complaint_rate",
        channel="all",
        period_start=date(2026, 3, 2),
        test="standard",
        severity="alarm",
        x=24,
        n=200,
        value=0.12,
        centre=0.02,
    )


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize("page", PAGES)
def test_every_engine_page_opens_and_derived_rows_cannot_be_typed_in(
    chain: Chain, page: str
) -> None:
    flag_at(chain.north_a)
    client = signed_in(UserFactory.create(is_superuser=True))
    assert client.get(f"/admin/{page}/").status_code == 200
    assert client.get(f"/admin/{page}/?q=zzz").status_code == 200
    add = client.get(f"/admin/{page}/add/").status_code
    assert add == (200 if page == "consistency/standard" else 403)


def test_staff_see_only_their_branches_flags_in_the_admin(chain: Chain) -> None:
    flag_at(chain.north_a)
    flag_at(chain.south_a)
    page = signed_in(chain.agent).get("/admin/consistency/flag/").content.decode()
    assert chain.north_a.code in page
    assert chain.south_a.code not in page


def test_a_case_goes_through_its_lifecycle_with_history(chain: Chain) -> None:
    case = case_at(chain.north_a)
    due = timezone.localdate() + timedelta(days=14)
    case = case_transition(actor=chain.regional, case=case, action="acknowledge")
    case = case_transition(
        actor=chain.regional,
        case=case,
        action="plan",
        owner=chain.agent,
        due_date=due,
        plan="Coach the counter team on the cash-count step.",
    )
    assert (case.status, case.owner, case.due_date) == (CaseStatus.ACTION_PLANNED, chain.agent, due)
    case = case_transition(actor=chain.regional, case=case, action="monitor")
    case = case_transition(actor=chain.regional, case=case, action="note", note="Week 1 better.")
    case = case_transition(actor=chain.regional, case=case, action="resolve", note="Coached.")
    assert case.resolved_at is not None
    history = [(e.action, e.to_status, e.actor) for e in case.events.all()]
    assert history == [
        ("acknowledge", CaseStatus.ACKNOWLEDGED, chain.regional),
        ("plan", CaseStatus.ACTION_PLANNED, chain.regional),
        ("monitor", CaseStatus.MONITORING, chain.regional),
        ("note", CaseStatus.MONITORING, chain.regional),
        ("resolve", CaseStatus.RESOLVED, chain.regional),
    ]
    with pytest.raises(ValidationError) as twice:
        case_transition(actor=chain.regional, case=case, action="resolve", note="Again.")
    assert "status" in twice.value.message_dict


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (CaseStatus.ACKNOWLEDGED, "acknowledge"),
        (CaseStatus.OPEN, "monitor"),
        (CaseStatus.MONITORING, "acknowledge"),
        (CaseStatus.WITHDRAWN, "resolve"),
        (CaseStatus.RESOLVED, "acknowledge"),
    ],
)
def test_steps_out_of_order_are_refused(chain: Chain, status: str, action: str) -> None:
    case = case_at(chain.north_a, status)
    with pytest.raises(ValidationError) as refused:
        case_transition(actor=chain.regional, case=case, action=action, note="x")
    assert "status" in refused.value.message_dict
    assert Case.objects.get(pk=case.pk).status == status


def test_plans_need_an_owner_a_future_date_and_a_text(chain: Chain) -> None:
    case = case_at(chain.north_a)
    with pytest.raises(ValidationError) as missing:
        case_transition(actor=chain.regional, case=case, action="plan", plan=" ")
    assert set(missing.value.message_dict) == {"plan", "owner", "due_date"}
    with pytest.raises(ValidationError) as past:
        case_transition(
            actor=chain.regional,
            case=case,
            action="plan",
            plan="Fix it",
            owner=chain.south_agent,  # cannot see the branch
            due_date=date(2020, 1, 1),
        )
    assert set(past.value.message_dict) == {"owner", "due_date"}
    with pytest.raises(ValidationError) as silent:
        case_transition(actor=chain.regional, case=case, action="resolve", note=" ")
    assert "note" in silent.value.message_dict


def test_agents_and_other_regions_cannot_work_a_case(chain: Chain) -> None:
    case = case_at(chain.north_a)
    with pytest.raises(PermissionDenied):
        case_transition(actor=chain.agent, case=case, action="acknowledge")
    outsider = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[chain.south])
    with pytest.raises(PermissionDenied):
        case_transition(actor=outsider, case=case, action="acknowledge")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert not case.events.exists()


def test_a_case_the_engine_just_withdrew_cannot_be_acknowledged(chain: Chain) -> None:
    """The manager's page showed the case open; the engine has withdrawn it since. The step
    is checked against the row as it is under the lock, not as the page read it."""
    shown = case_at(chain.north_a)
    Case.objects.filter(pk=shown.pk).update(status=CaseStatus.WITHDRAWN)
    with pytest.raises(ValidationError) as refused:
        case_transition(actor=chain.regional, case=shown, action="acknowledge")
    assert "status" in refused.value.message_dict
    assert Case.objects.get(pk=shown.pk).status == CaseStatus.WITHDRAWN
    assert not shown.events.exists()


def test_one_open_case_per_branch_and_metric_is_a_database_rule(chain: Chain) -> None:
    case_at(chain.north_a)
    case_at(chain.north_a, CaseStatus.RESOLVED)  # closed ones may be many
    with pytest.raises(IntegrityError), transaction.atomic():
        case_at(chain.north_a, CaseStatus.MONITORING)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two sessions: PostgreSQL")
def test_a_manager_waiting_on_the_engines_lock_sees_what_the_engine_did(chain: Chain) -> None:
    """The engine holds the case's row while it withdraws it; the manager's acknowledgement
    waits for the lock and is then refused, never applied on top of the withdrawal."""
    shown = case_at(chain.north_a)
    locked, release = threading.Event(), threading.Event()

    def engine_withdraws() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=shown.pk)
                Case.objects.filter(pk=shown.pk).update(status=CaseStatus.WITHDRAWN)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    engine = threading.Thread(target=engine_withdraws)
    engine.start()
    outcome: list[str] = []
    try:
        assert locked.wait(10)

        def manager_acknowledges() -> None:
            try:
                case_transition(actor=chain.regional, case=shown, action="acknowledge")
                outcome.append("acknowledged")
            except ValidationError:
                outcome.append("refused")
            finally:
                connection.close()

        manager = threading.Thread(target=manager_acknowledges)
        manager.start()
        manager.join(0.5)
        assert manager.is_alive()  # waiting for the engine's lock
        release.set()
        manager.join(10)
    finally:
        release.set()
        engine.join()
    assert outcome == ["refused"]
    assert Case.objects.get(pk=shown.pk).status == CaseStatus.WITHDRAWN
