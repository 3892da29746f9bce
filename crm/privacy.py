"""GDPR: a customer's data exported as JSON, and erasure.

Erasure anonymises the person and keeps the service record: their interactions stay (so
every rollup, flag and trend is unchanged) but lose their free text, the customer loses
name, contacts, notes, tags and the external id that linked them to another system, and
the same is done to every copy the CRM keeps (the audit history, webhook payloads). The
record is closed like a deletion, so searches and lists no longer find it and sync feeds
report it gone; integrations hear ``customer.erased``. Both operations are HQ admins'
(or API keys with the admin scope), and both are recorded in the customer's history.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from branches.access import IntegrationPrincipal, is_chain_admin
from common.audit import current_audit, history_entries
from common.events import emit
from complaints.classifier import classifier_forget
from complaints.models import Complaint, ComplaintEvent
from crm.models import Scope, WebhookEvent
from crm.webhooks import PAYLOADS
from customers.models import Customer
from feedback.models import FeedbackResponse, FollowUpNote, SurveyInvitation
from interactions.models import CheckIn, Interaction
from quality.models import Dispute, DisputeEvent, Review

ERASED_TEXT = "[erased]"
CUSTOMER_PERSONAL_BLANKS: dict[str, Any] = {
    "email": "",
    "phone": "",
    "notes": "",
    "tags": [],
    "source": "",
    "external_id": "",
    "preferred_channel": "",
    "language": "",
    "consent_marketing": False,
    "consent_surveys": False,
}
INTERACTION_TEXT_BLANKS = {"notes": "", "feedback_comment": ""}


def may_handle_personal_data(actor: Any) -> bool:
    """HQ admins, and API keys with the admin scope that are not limited to some branches
    (a customer's data spans every branch)."""
    if isinstance(actor, IntegrationPrincipal):
        return actor.is_active and actor.has_scope(Scope.ADMIN) and actor.branch_ids is None
    return is_chain_admin(actor)


def _require_privacy_role(actor: Any) -> None:
    if not may_handle_personal_data(actor):
        raise PermissionDenied(
            gettext_noop(
                "Only HQ admins (or API keys with the admin scope and no branch limits) may "
                "do this."
            )
        )


def erased_name(customer_id: int) -> str:
    return f"Erased customer #{customer_id}"


def _record_history(customer: Customer, actor: Any, reason: str) -> None:
    """A history row naming the GDPR operation, stamped like every other change."""
    context = current_audit()
    Customer.history.bulk_history_create(
        [customer],
        update=True,
        default_user=actor if getattr(actor, "pk", None) else None,
        default_change_reason=reason,
        custom_historical_attrs=context.stamp(),
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def customer_export(*, actor: Any, customer: Customer) -> dict[str, Any]:
    """Everything the CRM holds on the customer: profile, every touchpoint at every branch
    (deleted ones too), survey invitations, feedback and the history of the profile."""
    _require_privacy_role(actor)
    interactions = (
        Interaction.objects.filter(customer=customer)
        .select_related("branch", "staff", "moment")
        .order_by("occurred_at", "id")
    )
    feedback = (
        FeedbackResponse.objects.filter(interaction__customer=customer)
        .select_related("branch")
        .order_by("received_at", "id")
    )
    invitations = SurveyInvitation.objects.filter(customer=customer).order_by("due_at", "id")
    data = {
        "exported_at": timezone.now().isoformat(),
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "preferred_channel": customer.preferred_channel,
            "home_branch": customer.home_branch.code if customer.home_branch else None,
            "consent_marketing": customer.consent_marketing,
            "consent_surveys": customer.consent_surveys,
            "language": customer.language,
            "tags": customer.tags,
            "notes": customer.notes,
            "source": customer.source,
            "external_id": customer.external_id,
            "created_at": _iso(customer.created_at),
            "updated_at": _iso(customer.updated_at),
            "deleted_at": _iso(customer.deleted_at),
            "erased_at": _iso(customer.erased_at),
        },
        "interactions": [
            {
                "id": i.pk,
                "branch": i.branch.code,
                "channel": i.channel,
                "direction": i.direction,
                "occurred_at": _iso(i.occurred_at),
                "wait_seconds": i.wait_seconds,
                "handle_seconds": i.handle_seconds,
                "outcome": i.outcome,
                "topic": i.topic,
                "is_complaint": i.is_complaint,
                "moment": i.moment.name if i.moment else None,
                "notes": i.notes,
                "csat": i.csat,
                "nps": i.nps,
                "feedback_comment": i.feedback_comment,
                "staff": i.staff.get_full_name() or i.staff.get_username() if i.staff else None,
                "source": i.source,
                "external_id": i.external_id,
                "deleted_at": _iso(i.deleted_at),
            }
            for i in interactions
        ],
        "walk_ins": [
            {
                "branch": c.branch.code,
                "label": c.label,
                "arrived_at": _iso(c.arrived_at),
                "greeted_at": _iso(c.greeted_at),
                "finished_at": _iso(c.finished_at),
            }
            for c in CheckIn.objects.filter(customer=customer)
            .select_related("branch")
            .order_by("arrived_at", "id")
        ],
        "survey_invitations": [
            {
                "interaction": s.interaction_id,
                "status": s.status,
                "language": s.language,
                "sent_at": _iso(s.sent_at),
                "expires_at": _iso(s.expires_at),
                "responded_at": _iso(s.responded_at),
            }
            for s in invitations
        ],
        "feedback": [
            {
                "interaction": f.interaction_id,
                "branch": f.branch.code,
                "source": f.source,
                "nps": f.nps,
                "csat": f.csat,
                "comment": f.comment,
                "handling": f.handling,
                "handling_comment": f.handling_comment,
                "received_at": _iso(f.received_at),
            }
            for f in feedback
        ],
        "complaints": [
            {
                "reference": c.reference,
                "interaction": c.interaction_id,
                "type": c.type.code if c.type else None,
                "severity": c.severity,
                "status": c.status,
                "text": c.text,
                "remedy": c.remedy,
                "response": c.response,
                "received_at": _iso(c.received_at),
                "closed_at": _iso(c.closed_at),
            }
            for c in Complaint.objects.filter(interaction__customer=customer)
            .select_related("type")
            .order_by("received_at", "id")
        ],
        "quality_reviews": [
            {
                "interaction": r.interaction_id,
                "kind": r.kind,
                "scorecard": r.scorecard.code,
                "answers": r.answers,
                "score": r.score,
                "passed": r.passed,
                "comment": r.comment,
                "reviewed_at": _iso(r.created_at),
            }
            for r in Review.objects.filter(interaction__customer=customer)
            .select_related("scorecard")
            .order_by("occurred_at", "id")
        ],
        "profile_history": [
            {**entry, "at": _iso(entry["at"]), "changes": _jsonable(entry["changes"])}
            for entry in history_entries(customer.history.all())
        ],
    }
    _record_history(customer, actor, gettext_noop("exported (GDPR)"))
    return data


def _jsonable(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {field: [_iso(v) for v in values] for field, values in changes.items()}


@transaction.atomic
def customer_erase(*, actor: Any, customer: Customer) -> Customer:
    """Anonymise the customer everywhere and keep the statistics. A customer is erased
    once: a second request is refused."""
    _require_privacy_role(actor)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ValidationError(
            gettext_noop("This customer has already been erased."), code="already_erased"
        )
    now = timezone.now()
    anonymous = {**CUSTOMER_PERSONAL_BLANKS, "name": erased_name(customer.pk)}
    # The copies the CRM keeps of the person: history rows, touchpoints' free text, then
    # (below) stored webhook payloads.
    Customer.history.filter(id=customer.pk).update(**anonymous)
    interaction_ids = list(
        Interaction.objects.filter(customer=customer).values_list("pk", flat=True)
    )
    Interaction.history.filter(id__in=interaction_ids).update(**INTERACTION_TEXT_BLANKS)
    Interaction.objects.filter(pk__in=interaction_ids).update(
        **INTERACTION_TEXT_BLANKS, updated_at=now
    )
    FeedbackResponse.objects.filter(interaction_id__in=interaction_ids).update(
        comment="", handling_comment=""
    )
    FollowUpNote.objects.filter(follow_up__interaction_id__in=interaction_ids).exclude(
        text=""
    ).update(text=ERASED_TEXT)
    CheckIn.objects.filter(customer=customer).update(label="")
    reviews_text_erase(Review.objects.filter(interaction_id__in=interaction_ids))
    complaints = Complaint.objects.filter(interaction_id__in=interaction_ids)
    if complaints.exclude(text="").exclude(text=ERASED_TEXT).exists():
        classifier_forget()  # the type models learnt the customer's words
    for field in ("text", "remedy", "response"):
        complaints.exclude(**{field: ""}).update(**{field: ERASED_TEXT})
    ComplaintEvent.objects.filter(complaint__in=complaints).exclude(note="").update(
        note=ERASED_TEXT
    )
    for field, value in anonymous.items():
        setattr(customer, field, value)
    customer.erased_at = now
    customer.deleted_at = customer.deleted_at or now
    customer.save_without_historical_record()  # type: ignore[attr-defined]
    _record_history(customer, actor, gettext_noop("erased (GDPR)"))
    _outbox_scrub(customer, interaction_ids)
    emit([("customer.erased", customer)], actor=actor)
    return customer


def reviews_text_erase(reviews: Any) -> None:
    """Quality reviews keep their answers and scores (the statistics) but lose what people
    wrote about the contact: the reviewer's comment, its history's copies, and the words of
    every dispute of those reviews."""
    ids = list(reviews.values_list("pk", flat=True))
    Review.objects.filter(pk__in=ids).exclude(comment="").update(comment=ERASED_TEXT)
    Review.history.filter(id__in=ids).exclude(comment="").update(comment=ERASED_TEXT)
    disputes = Dispute.objects.filter(review_id__in=ids)
    disputes.update(reason=ERASED_TEXT)
    disputes.exclude(decision="").update(decision=ERASED_TEXT)
    DisputeEvent.objects.filter(dispute__in=disputes).exclude(note="").update(note=ERASED_TEXT)


def _outbox_scrub(customer: Customer, interaction_ids: list[int]) -> None:
    """Webhook payloads already stored (and perhaps still to be retried) lose the person."""
    anonymous = PAYLOADS["customer"][0](customer).data
    events = list(
        WebhookEvent.objects.filter(
            event_type__startswith="customer.", payload__data__id=customer.pk
        )
    )
    for event in events:
        event.payload = {**event.payload, "data": anonymous}
    touchpoints = list(
        WebhookEvent.objects.filter(
            Q(event_type__startswith="interaction.", payload__data__id__in=interaction_ids)
            | Q(event_type__startswith="feedback.", payload__data__interaction__in=interaction_ids)
        )
    )
    for event in touchpoints:
        data = dict(event.payload["data"])
        for key in ("notes", "feedback_comment", "comment", "handling_comment"):
            if key in data:
                data[key] = ""
        if "customer_ref" in data:
            data["customer_ref"] = None
        event.payload = {**event.payload, "data": data}
    WebhookEvent.objects.bulk_update([*events, *touchpoints], ["payload"], batch_size=500)
