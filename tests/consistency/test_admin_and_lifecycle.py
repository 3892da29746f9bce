"""The engine's admin pages, scoped like the rest, and the flag lifecycle services."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from branches.models import Branch, Role
from consistency.models import Flag, FlagStatus
from consistency.services import FlagState, RecomputeResult, _flags_apply, flag_transition
from tests.conftest import Chain
from tests.factories import UserFactory

PAGES = [
    "consistency/standard",
    "consistency/flag",
    "consistency/rollup",
    "consistency/dirtyday",
    "consistency/consistencyindex",
]


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


def test_a_flag_goes_through_its_lifecycle_with_history(chain: Chain) -> None:
    flag = flag_at(chain.north_a)
    due = timezone.localdate() + timedelta(days=14)
    flag = flag_transition(actor=chain.regional, flag=flag, action="acknowledge")
    flag = flag_transition(
        actor=chain.regional,
        flag=flag,
        action="plan",
        owner=chain.agent,
        due_date=due,
        plan="Coach the counter team on the cash-count step.",
    )
    assert (flag.status, flag.owner, flag.due_date) == (FlagStatus.ACTION_PLANNED, chain.agent, due)
    flag = flag_transition(actor=chain.regional, flag=flag, action="resolve", note="Coached.")
    history = [(e.action, e.to_status, e.actor) for e in flag.events.all()]
    assert history == [
        ("acknowledge", FlagStatus.ACKNOWLEDGED, chain.regional),
        ("plan", FlagStatus.ACTION_PLANNED, chain.regional),
        ("resolve", FlagStatus.RESOLVED, chain.regional),
    ]
    with pytest.raises(ValidationError) as twice:
        flag_transition(actor=chain.regional, flag=flag, action="resolve", note="Again.")
    assert "status" in twice.value.message_dict


def test_plans_need_an_owner_a_future_date_and_a_text(chain: Chain) -> None:
    flag = flag_at(chain.north_a)
    with pytest.raises(ValidationError) as missing:
        flag_transition(actor=chain.regional, flag=flag, action="plan", plan=" ")
    assert set(missing.value.message_dict) == {"plan", "owner", "due_date"}
    with pytest.raises(ValidationError) as past:
        flag_transition(
            actor=chain.regional,
            flag=flag,
            action="plan",
            plan="Fix it",
            owner=chain.south_agent,  # cannot see the branch
            due_date=date(2020, 1, 1),
        )
    assert set(past.value.message_dict) == {"owner", "due_date"}


def test_agents_and_other_regions_cannot_work_a_flag(chain: Chain) -> None:
    flag = flag_at(chain.north_a)
    with pytest.raises(PermissionDenied):
        flag_transition(actor=chain.agent, flag=flag, action="acknowledge")
    outsider = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[chain.south])
    with pytest.raises(PermissionDenied):
        flag_transition(actor=outsider, flag=flag, action="acknowledge")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN
    assert not flag.events.exists()


def test_a_flag_the_engine_just_cleared_cannot_be_acknowledged(chain: Chain) -> None:
    """The manager's page showed the flag open; the engine has cleared it since. The step
    is checked against the row as it is under the lock, not as the page read it."""
    shown = flag_at(chain.north_a)
    Flag.objects.filter(pk=shown.pk).update(status=FlagStatus.CLEARED)
    with pytest.raises(ValidationError) as refused:
        flag_transition(actor=chain.regional, flag=shown, action="acknowledge")
    assert "status" in refused.value.message_dict
    assert Flag.objects.get(pk=shown.pk).status == FlagStatus.CLEARED
    assert not shown.events.exists()


def test_the_engine_does_not_clear_a_flag_a_manager_resolved_after_it_read_the_flags(
    chain: Chain,
) -> None:
    """The engine decided from rows it read unlocked; a manager resolved the flag since.
    Under the lock the engine sees the resolution and keeps it."""
    flag = flag_at(chain.north_a)
    as_read = _flag_state(flag)
    flag_transition(actor=chain.regional, flag=flag, action="resolve", note="Coached.")
    _flags_apply("week", flag.period_start, [], [as_read], RecomputeResult())
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert [e.action for e in flag.events.all()] == ["resolve"]


def _flag_state(flag: Flag) -> FlagState:
    return FlagState(*Flag.objects.values_list(*FlagState._fields).get(pk=flag.pk))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two sessions: PostgreSQL")
def test_a_manager_waiting_on_the_engines_lock_sees_what_the_engine_did(chain: Chain) -> None:
    """The engine holds the flag's row while it clears it; the manager's acknowledgement
    waits for the lock and is then refused, never applied on top of the clearing."""
    shown = flag_at(chain.north_a)
    locked, release = threading.Event(), threading.Event()

    def engine_clears() -> None:
        try:
            with transaction.atomic():
                Flag.objects.select_for_update().get(pk=shown.pk)
                Flag.objects.filter(pk=shown.pk).update(status=FlagStatus.CLEARED)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    engine = threading.Thread(target=engine_clears)
    engine.start()
    outcome: list[str] = []
    try:
        assert locked.wait(10)

        def manager_acknowledges() -> None:
            try:
                flag_transition(actor=chain.regional, flag=shown, action="acknowledge")
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
    assert Flag.objects.get(pk=shown.pk).status == FlagStatus.CLEARED
