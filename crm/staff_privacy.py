"""GDPR for staff: what the CRM holds about a member of staff as a person (SPEC §9: the
reviews of their work, their disputes, the coaching notes about them), exported as JSON,
and erasure.

Erasure anonymises the person and keeps the statistics, as for customers: their
interactions and reviews stay (every rollup, flag and staff figure of their branch is
unchanged), but the account loses its name, e-mail and login, cannot sign in again, and
what people wrote about them (review comments, dispute words, coaching notes) is replaced
by "[erased]". HQ admins only (or API keys with the admin scope and no branch limits).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from branches.models import User
from crm.privacy import ERASED_TEXT, _iso, _require_privacy_role, reviews_text_erase
from quality.models import Assignment, CoachingNote, Dispute, Review

ERASED_USERNAME = "erased-staff-{pk}"


def _review(review: Review) -> dict[str, Any]:
    return {
        "id": review.pk,
        "interaction": review.interaction_id,
        "branch": review.branch.code,
        "channel": review.channel,
        "occurred_at": _iso(review.occurred_at),
        "kind": review.kind,
        "scorecard": review.scorecard.code,
        "answers": review.answers,
        "score": review.score,
        "passed": review.passed,
        "critical_fail": review.critical_fail,
        "disputed": review.disputed,
        "comment": review.comment,
        "reviewed_at": _iso(review.created_at),
    }


def staff_export(*, actor: Any, user: User) -> dict[str, Any]:
    """The account, the reviews of their work and by them, their disputes, the coaching
    notes about them and their open review assignments."""
    _require_privacy_role(actor)
    received = (
        Review.objects.filter(agent=user)
        .select_related("branch", "scorecard")
        .order_by("occurred_at", "id")
    )
    given = (
        Review.objects.filter(reviewer=user)
        .select_related("branch", "scorecard")
        .order_by("occurred_at", "id")
    )
    disputes = Dispute.objects.filter(review__agent=user).prefetch_related("events")
    notes = CoachingNote.objects.filter(agent=user).select_related("author", "branch")
    return {
        "exported_at": timezone.now().isoformat(),
        "staff": {
            "id": user.pk,
            "username": user.get_username(),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.role,
            "branches": sorted(user.branches.values_list("code", flat=True)),
            "regions": sorted(user.regions.values_list("code", flat=True)),
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "is_active": user.is_active,
        },
        "reviews_of_their_work": [_review(r) for r in received],
        "reviews_they_gave": [_review(r) for r in given],
        "disputes": [
            {
                "review": d.review_id,
                "status": d.status,
                "reason": d.reason,
                "decision": d.decision,
                "raised_at": _iso(d.created_at),
                "decided_at": _iso(d.decided_at),
                "steps": [
                    {"action": e.action, "note": e.note, "at": _iso(e.at)} for e in d.events.all()
                ],
            }
            for d in disputes.order_by("created_at", "id")
        ],
        "coaching_notes": [
            {
                "branch": n.branch.code,
                "author": n.author.get_username() if n.author else None,
                "note": n.note,
                "reviews": [r.pk for r in n.reviews.all()],
                "created_at": _iso(n.created_at),
            }
            for n in notes.prefetch_related("reviews").order_by("created_at", "id")
        ],
        "open_review_assignments": list(
            Assignment.objects.filter(reviewer=user, review__isnull=True).values_list(
                "interaction_id", flat=True
            )
        ),
    }


@transaction.atomic
def staff_erase(*, actor: Any, user: User) -> User:
    """Anonymise a member of staff and what was written about them; keep the statistics.
    Nobody erases themselves, and a person is erased once."""
    _require_privacy_role(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == getattr(actor, "pk", None):
        raise ValidationError(gettext_noop("Nobody erases their own account."))
    if user.get_username() == ERASED_USERNAME.format(pk=user.pk):
        raise ValidationError(
            gettext_noop("This person has already been erased."), code="already_erased"
        )
    reviews_text_erase(Review.objects.filter(agent=user))
    CoachingNote.objects.filter(agent=user).update(note=ERASED_TEXT)
    Assignment.objects.filter(reviewer=user, review__isnull=True).delete()
    user.username = ERASED_USERNAME.format(pk=user.pk)
    user.first_name, user.last_name, user.email = "", "", ""
    user.is_active, user.is_staff, user.is_superuser = False, False, False
    user.set_unusable_password()
    user.save()
    return user
