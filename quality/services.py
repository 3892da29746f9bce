"""Writes of quality reviews: scoring a review, its dispute and the coaching notes.

Who may review: managers (branch, regional, HQ) who can see the interaction's branch, and
integrations with the ``staff:write`` scope; never the agent who handled the interaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from branches.access import IntegrationPrincipal, branch_scope, is_chain_admin, is_manager
from common.events import emit
from interactions.models import Interaction
from quality import stats
from quality.models import (
    Assignment,
    CalibrationSession,
    CoachingNote,
    Dispute,
    DisputeEvent,
    DisputeStatus,
    Item,
    Review,
    ReviewKind,
    Scorecard,
    Section,
)

Values = Mapping[str, int | None]  # item code -> answer (None: not applicable)


def scorecard_in_force(code: str, day: date) -> Scorecard | None:
    """The version of checklist ``code`` in force on ``day``."""
    return (
        Scorecard.objects.filter(code=code, effective_from__lte=day, is_active=True)
        .order_by("-effective_from")
        .first()
    )


def scorecard_items(scorecard: Scorecard) -> list[Item]:
    return list(
        Item.objects.filter(scorecard=scorecard)
        .select_related("section")
        .order_by("section__position", "position")
    )


@dataclass(frozen=True)
class Scored:
    score: float | None
    critical_fail: bool
    passed: bool
    answers: list[tuple[Item, int | None]]


def review_score(scorecard: Scorecard, items: Sequence[Item], values: Values) -> Scored:
    """A review's answers checked against the checklist and scored (quality.stats). An item
    left out counts as not applicable where that is allowed; problems are field errors."""
    by_code = {item.code: item for item in items}
    problems: dict[str, list[str]] = {}
    for code in sorted(set(values) - set(by_code)):
        problems[code] = [_("No such item on this scorecard.")]
    answers: list[tuple[Item, int | None]] = []
    for item in items:
        value = values.get(item.code)
        if value is None and not item.allow_na:
            problems[item.code] = [_("Answer this item: it cannot be not applicable.")]
        elif value is not None and not _valid(item, value):
            problems[item.code] = [
                _("Answer 0 or 1.") if item.scale == "yes_no" else _("Answer 1 to 5.")
            ]
        answers.append((item, value))
    if problems:
        raise ValidationError({"answers": [f"{k}: {v[0]}" for k, v in problems.items()]})
    result = stats.review_score(
        [
            stats.ItemAnswer(
                weight=item.weight,
                scale=item.scale,
                allow_na=item.allow_na,
                critical=item.critical,
                value=value,
            )
            for item, value in answers
        ]
    )
    return Scored(
        score=result.score,
        critical_fail=result.critical_fail,
        passed=stats.passed(result.score, result.critical_fail, scorecard.pass_mark),
        answers=answers,
    )


def _valid(item: Item, value: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return value in (0, 1) if item.scale == "yes_no" else 1 <= value <= 5


def may_review(actor: Any, interaction: Interaction) -> None:
    """Refuse a reviewer who may not score this interaction."""
    if isinstance(actor, IntegrationPrincipal):
        if not branch_scope(actor, for_write=True).allows(interaction.branch_id):
            raise PermissionDenied("This key may not review interactions at this branch.")
        return
    if not is_manager(actor) or not branch_scope(actor).allows(interaction.branch_id):
        raise PermissionDenied("Only managers who see this branch review its interactions.")
    if interaction.staff_id is not None and interaction.staff_id == getattr(actor, "pk", None):
        raise PermissionDenied("Nobody reviews their own interactions.")


@transaction.atomic
def review_submit(
    *,
    actor: Any,
    interaction: Interaction,
    values: Values,
    comment: str = "",
    scorecard: Scorecard | None = None,
    scorecard_code: str = "",
    session: CalibrationSession | None = None,
    assignment: Assignment | None = None,
) -> Review:
    """Score ``interaction`` against the scorecard (by default the version of
    ``scorecard_code`` in force on the interaction's day, or the one of the assignment's
    rule). A calibration review belongs to its session and stays out of every figure; an
    assignment is done by its reviewer's review, once."""
    may_review(actor, interaction)
    if assignment is not None:
        assignment = (
            Assignment.objects.select_for_update().select_related("rule").get(pk=assignment.pk)
        )
        if assignment.reviewer_id != getattr(actor, "pk", None):
            raise PermissionDenied("This assignment is someone else's.")
        if assignment.interaction_id != interaction.pk:
            raise ValidationError(_("This assignment is about another interaction."))
        if assignment.review_id is not None:
            raise ValidationError(_("This assignment has been reviewed already."))
        scorecard_code = scorecard_code or assignment.rule.scorecard_code
    if interaction.is_deleted:
        raise ValidationError(_("This interaction has been deleted."))
    if session is not None:
        scorecard = session.scorecard
        if (
            isinstance(actor, IntegrationPrincipal)
            or not session.reviewers.filter(pk=actor.pk).exists()
        ):
            raise PermissionDenied("You are not a reviewer of this calibration session.")
        if session.closed_at is not None:
            raise ValidationError(_("This calibration session is closed."))
    if scorecard is None:
        scorecard = scorecard_in_force(scorecard_code, interaction.occurred_at.date())
        if scorecard is None:
            raise ValidationError({"scorecard": [_("No version of this scorecard is in force.")]})
    scored = review_score(scorecard, scorecard_items(scorecard), values)
    review = Review(
        interaction=interaction,
        scorecard=scorecard,
        reviewer=actor if getattr(actor, "pk", None) else None,
        agent_id=interaction.staff_id,
        branch_id=interaction.branch_id,
        channel=interaction.channel,
        occurred_at=interaction.occurred_at,
        kind=ReviewKind.CALIBRATION if session is not None else ReviewKind.REGULAR,
        session=session,
        comment=comment.strip(),
        score=scored.score,
        passed=scored.passed,
        critical_fail=scored.critical_fail,
    )
    review.answers = {item.code: value for item, value in scored.answers}
    review.full_clean(exclude=["interaction", "branch"])
    review.save()
    if assignment is not None:
        assignment.review = review
        assignment.save(update_fields=["review"])
    if review.kind == ReviewKind.REGULAR:
        emit([("review.created", review)], actor=actor)
    return review


def _rescore(review: Review, values: Values) -> None:
    scored = review_score(review.scorecard, scorecard_items(review.scorecard), values)
    review.answers = {item.code: value for item, value in scored.answers}
    review.score, review.passed = scored.score, scored.passed
    review.critical_fail = scored.critical_fail


# --- disputes ------------------------------------------------------------------------------


def _step(dispute: Dispute, actor: Any, action: str, note: str = "") -> None:
    DisputeEvent.objects.create(
        dispute=dispute,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        note=note,
    )


@transaction.atomic
def dispute_raise(*, actor: Any, review: Review, reason: str) -> Dispute:
    """The reviewed agent disagrees, with a reason. The review is marked disputed in every
    figure until a manager settles it."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.agent_id is None or review.agent_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the reviewed agent disputes a review.")
    if review.kind != ReviewKind.REGULAR or review.is_deleted:
        raise ValidationError(_("Only a regular review can be disputed."))
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why you disagree.")]})
    if review.disputed:
        raise ValidationError(_("This review is already disputed."))
    dispute = Dispute.objects.create(review=review, raised_by=actor, reason=reason.strip())
    review.disputed = True
    review.save(update_fields=["disputed"])
    _step(dispute, actor, "raised", reason.strip())
    emit([("review.updated", review)], actor=actor)
    return dispute


@transaction.atomic
def dispute_settle(
    *,
    actor: Any,
    dispute: Dispute,
    status: str,
    note: str,
    values: Values | None = None,
) -> Dispute:
    """A manager accepts (with new answers), partly accepts (with new answers) or rejects
    a dispute; the review then counts again, rescored if its answers changed."""
    dispute = Dispute.objects.select_for_update().select_related("review").get(pk=dispute.pk)
    review = (
        Review.objects.select_for_update().select_related("scorecard").get(pk=dispute.review_id)
    )
    if not is_manager(actor) or not branch_scope(actor).allows(review.branch_id):
        raise PermissionDenied("Only a manager of this branch settles its disputes.")
    if actor.pk == review.agent_id:
        raise PermissionDenied("Nobody settles a dispute of their own review.")
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError(_("This dispute has been settled already."))
    settled = {DisputeStatus.ACCEPTED, DisputeStatus.PARTLY_ACCEPTED, DisputeStatus.REJECTED}
    if status not in settled:
        raise ValidationError({"status": [_("Accept, partly accept or reject.")]})
    if not note.strip():
        raise ValidationError({"note": [_("Say what was decided and why.")]})
    if status == DisputeStatus.REJECTED:
        values = None
    elif values is None:
        raise ValidationError({"answers": [_("Give the corrected answers.")]})
    if values is not None:
        _rescore(review, values)
    dispute.status, dispute.decided_by = status, actor
    dispute.decided_at, dispute.decision = timezone.now(), note.strip()
    dispute.save(update_fields=["status", "decided_by", "decided_at", "decision"])
    review.disputed = False
    review.save()
    _step(dispute, actor, status, note.strip())
    emit([("review.updated", review)], actor=actor)
    return dispute


# --- coaching -----------------------------------------------------------------------------


@transaction.atomic
def coaching_note_add(
    *, actor: Any, agent: Any, branch_id: int, note: str, reviews: Sequence[Review] = ()
) -> CoachingNote:
    """A manager notes what they discussed with one of their agents."""
    if not is_manager(actor) or not branch_scope(actor).allows(branch_id):
        raise PermissionDenied("Only a manager of the agent's branch writes coaching notes.")
    if not agent.branches.filter(pk=branch_id).exists():
        raise ValidationError({"agent": [_("This person does not work at this branch.")]})
    if not note.strip():
        raise ValidationError({"note": [_("Write what was discussed.")]})
    strangers = [r.pk for r in reviews if r.agent_id != agent.pk]
    if strangers:
        raise ValidationError({"reviews": [_("Link only reviews of this agent.")]})
    coaching = CoachingNote.objects.create(
        agent=agent, author=actor, branch_id=branch_id, note=note.strip()
    )
    coaching.reviews.set(reviews)
    return coaching


# --- scorecard versions -------------------------------------------------------------------


@transaction.atomic
def scorecard_new_version(*, actor: Any, scorecard: Scorecard, effective_from: date) -> Scorecard:
    """HQ starts a new version of checklist ``scorecard.code`` on ``effective_from``: a copy of
    the newest version with its sections and items, to be edited in the admin. Reviews keep
    the version they were scored on."""
    if not is_chain_admin(actor):
        raise PermissionDenied("Only HQ admins change scorecards.")
    newest = (
        Scorecard.objects.select_for_update()
        .filter(code=scorecard.code)
        .order_by("-effective_from")
        .first()
    )
    if newest is None:
        raise ValidationError({"scorecard": [_("No such scorecard.")]})
    if effective_from <= newest.effective_from:
        raise ValidationError(
            {
                "effective_from": [
                    _("Pick a day after %(day)s, when the newest version starts.")
                    % {"day": date_format(newest.effective_from)}
                ]
            }
        )
    copy = Scorecard.objects.create(
        code=newest.code,
        text_en=newest.text_en,
        text_id=newest.text_id,
        channel=newest.channel,
        effective_from=effective_from,
        pass_mark=newest.pass_mark,
        is_active=newest.is_active,
    )
    for section in newest.sections.prefetch_related("items").order_by("position"):
        section_copy = Section.objects.create(
            scorecard=copy,
            position=section.position,
            text_en=section.text_en,
            text_id=section.text_id,
        )
        Item.objects.bulk_create(
            Item(
                section=section_copy,
                scorecard=copy,
                position=item.position,
                code=item.code,
                text_en=item.text_en,
                text_id=item.text_id,
                weight=item.weight,
                scale=item.scale,
                allow_na=item.allow_na,
                critical=item.critical,
                moment_id=item.moment_id,
            )
            for item in sorted(section.items.all(), key=lambda i: i.position)
        )
    return copy
