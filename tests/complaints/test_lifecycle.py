"""A complaint handled to ISO 10002: recorded with a unique reference and due dates from
the severity's policy, then acknowledged, investigated, responded to and closed (reopening
allowed), every step kept; steps out of order, strangers and a second complaint on one
interaction are refused; two people acting at once move it once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from complaints.models import Area, Complaint, ComplaintEvent, ComplaintType, HandlingPolicy, Status
from complaints.services import complaint_record, complaint_transition, complaint_type_set
from crm.privacy import ERASED_TEXT, customer_erase, customer_export
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory

# Tuesday 3 November 2026, 10:00 in Oslo (the branch's zone).
RECEIVED = datetime(2026, 11, 3, 9, tzinfo=UTC)


def queue_too_long() -> ComplaintType:
    waiting = Area.objects.create(code="waiting", name_en="Waiting", name_id="Menunggu")
    return ComplaintType.objects.create(
        area=waiting,
        code="queue-too-long",
        name_en="Queue too long",
        name_id="Antrean terlalu lama",
    )


def recorded(chain: Chain, severity: str = "medium") -> Complaint:
    call = InteractionFactory.create(branch=chain.north_a, is_complaint=True, occurred_at=RECEIVED)
    return complaint_record(
        actor=chain.agent,
        interaction=call,
        severity=severity,
        complaint_type=queue_too_long(),
        text="Waited 40 minutes",
        remedy="An apology",
    )


def test_a_complaint_gets_a_reference_and_due_dates_from_the_policy(chain: Chain) -> None:
    HandlingPolicy.objects.filter(severity="high").update(acknowledge_days=1, respond_days=3)
    complaint = recorded(chain, "high")
    assert complaint.reference == f"CMP-2026-{complaint.interaction_id:08d}"
    assert Complaint.objects.get().reference == complaint.reference
    # Ends of the working days, Oslo time (UTC+1): Wednesday and Friday.
    assert complaint.acknowledge_due == datetime(2026, 11, 4, 23, tzinfo=UTC)
    assert complaint.respond_due == datetime(2026, 11, 6, 23, tzinfo=UTC)
    assert complaint.status == Status.RECEIVED
    assert list(ComplaintEvent.objects.values_list("action", "to_status")) == [
        ("received", "received")
    ]


def test_one_complaint_per_interaction_and_only_at_ones_branches(chain: Chain) -> None:
    complaint = recorded(chain)
    with pytest.raises(ValidationError) as error:
        complaint_record(actor=chain.agent, interaction=complaint.interaction)
    assert "interaction" in error.value.message_dict
    other = InteractionFactory.create(branch=chain.north_a, occurred_at=RECEIVED)
    with pytest.raises(PermissionDenied):
        complaint_record(actor=chain.south_agent, interaction=other)
    assert Complaint.objects.count() == 1


def test_the_lifecycle_in_order_with_every_step_kept(chain: Chain) -> None:
    complaint = recorded(chain)
    with pytest.raises(ValidationError):  # not before it is acknowledged
        complaint_transition(actor=chain.agent, complaint=complaint, action="investigate")
    complaint_transition(actor=chain.agent, complaint=complaint, action="acknowledge")
    complaint_transition(actor=chain.agent, complaint=complaint, action="investigate")
    with pytest.raises(ValidationError) as error:  # a response needs its words
        complaint_transition(actor=chain.agent, complaint=complaint, action="respond")
    assert "response" in error.value.message_dict
    complaint_transition(
        actor=chain.agent, complaint=complaint, action="respond", response="Extra teller added."
    )
    with pytest.raises(PermissionDenied):  # closing is a manager's
        complaint_transition(actor=chain.agent, complaint=complaint, action="close")
    complaint_transition(actor=chain.regional, complaint=complaint, action="close")
    with pytest.raises(ValidationError):  # reopening says why
        complaint_transition(actor=chain.regional, complaint=complaint, action="reopen")
    complaint_transition(
        actor=chain.regional, complaint=complaint, action="reopen", note="Customer called again."
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.closed_at, complaint.response) == (
        Status.INVESTIGATING,
        None,
        "Extra teller added.",
    )
    assert complaint.acknowledged_at is not None
    steps = list(ComplaintEvent.objects.values_list("action", "from_status", "to_status"))
    assert steps == [
        ("received", "", "received"),
        ("acknowledge", "received", "acknowledged"),
        ("investigate", "acknowledged", "investigating"),
        ("respond", "investigating", "responded"),
        ("close", "responded", "closed"),
        ("reopen", "closed", "investigating"),
    ]


def test_a_retired_type_is_not_given_and_old_complaints_keep_theirs(chain: Chain) -> None:
    complaint = recorded(chain)
    old = complaint.type
    assert old is not None
    old.retired_at = timezone.now()
    old.save()
    renamed = ComplaintType.objects.create(
        area=old.area, code=old.code, name_en="Queue far too long", replaces=old
    )
    complaint.refresh_from_db()
    assert complaint.type_id == old.pk  # unchanged by the rename
    with pytest.raises(ValidationError):
        complaint_type_set(actor=chain.agent, complaint=complaint, complaint_type=old)
    complaint_type_set(actor=chain.agent, complaint=complaint, complaint_type=renamed)
    complaint.refresh_from_db()
    assert complaint.type_id == renamed.pk
    assert ComplaintEvent.objects.filter(action="typed", note=old.code).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two sessions: PostgreSQL")
def test_two_people_acknowledging_at_once_move_it_once(chain: Chain) -> None:
    complaint = recorded(chain)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def acknowledge(actor: object) -> None:
        try:
            start.wait(5)
            complaint_transition(actor=actor, complaint=complaint, action="acknowledge")
            outcomes.append("moved")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=acknowledge, args=(a,)) for a in (chain.agent, chain.admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["moved", "refused"]
    assert ComplaintEvent.objects.filter(action="acknowledge").count() == 1


def test_a_customers_export_and_erasure_cover_their_complaints(chain: Chain) -> None:
    customer = CustomerFactory.create(name="Dewi Lestari")
    call = InteractionFactory.create(
        branch=chain.north_a, customer=customer, is_complaint=True, occurred_at=RECEIVED
    )
    complaint = complaint_record(
        actor=chain.agent, interaction=call, text="Teller shouted at my mother", remedy="Refund"
    )
    complaint_transition(actor=chain.agent, complaint=complaint, action="acknowledge")
    complaint_transition(
        actor=chain.agent, complaint=complaint, action="respond", response="We apologised to Dewi."
    )
    exported = customer_export(actor=chain.admin, customer=customer)["complaints"]
    assert [(c["reference"], c["text"]) for c in exported] == [
        (complaint.reference, "Teller shouted at my mother")
    ]
    customer_erase(actor=chain.admin, customer=customer)
    complaint.refresh_from_db()
    assert (complaint.text, complaint.remedy, complaint.response) == (ERASED_TEXT,) * 3
    assert complaint.status == Status.RESPONDED  # the handling record stays
