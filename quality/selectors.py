"""Reads of quality reviews, scoped by branches.access.

Reviews are about staff: a manager sees those of the branches they see, an agent their
own, an integration those of its branches (with the ``staff:read`` scope, checked by the
API)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from branches.access import IntegrationPrincipal, branch_scope, is_manager
from quality import stats
from quality.models import Assignment, CalibrationSession, Item, Review, ReviewKind


def reviews_visible(*, actor: Any) -> QuerySet[Review]:
    """Every review ``actor`` may read, deleted ones too."""
    reviews = Review.objects.all()
    if isinstance(actor, IntegrationPrincipal) or is_manager(actor):
        return branch_scope(actor).filter(reviews)
    if getattr(actor, "is_authenticated", False) and actor.is_active:
        return reviews.filter(agent=actor)
    return reviews.none()


def review_feed(*, actor: Any) -> QuerySet[Review]:
    """Regular reviews (calibration ones stay inside their sessions) in sync order."""
    return (
        reviews_visible(actor=actor)
        .filter(kind=ReviewKind.REGULAR)
        .select_related("scorecard", "agent", "reviewer", "branch", "interaction")
    )


def item_breakdown(
    *, branch_id: int, start: datetime, end: datetime, channels: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """How often each checklist item failed in a branch's regular reviews of interactions
    in [start, end) (of ``channels``, or any): critical items first, then the most
    failed. Items are matched by code across scorecard versions."""
    reviews = Review.objects.filter(
        branch_id=branch_id,
        kind=ReviewKind.REGULAR,
        deleted_at__isnull=True,
        occurred_at__gte=start,
        occurred_at__lt=end,
    )
    if channels:
        reviews = reviews.filter(channel__in=channels)
    rows = list(reviews.values_list("scorecard_id", "answers"))
    items = {
        (item.scorecard_id, item.code): item
        for item in Item.objects.filter(scorecard_id__in={s for s, _ in rows})
    }
    tally: dict[str, dict[str, Any]] = {}
    for scorecard_id, answers in rows:
        for code, value in answers.items():
            item = items.get((scorecard_id, code))
            if item is None or value is None:
                continue
            entry = tally.setdefault(
                code,
                {"item": item, "code": code, "critical": item.critical, "n": 0, "failed": 0},
            )
            entry["n"] += 1
            entry["failed"] += stats.item_failed(item.scale, value)
    return sorted(tally.values(), key=lambda e: (not e["critical"], -e["failed"], e["code"]))


def open_assignments(*, reviewer: Any) -> Any:
    """A reviewer's assignments still to score (of interactions not deleted since they were
    drawn), the most overdue first."""
    return (
        Assignment.objects.filter(
            reviewer=reviewer, review__isnull=True, interaction__deleted_at__isnull=True
        )
        .select_related("branch", "agent", "rule", "interaction")
        .order_by("due_at", "pk")
    )


def overdue_assignments(*, actor: Any, now: datetime | None = None) -> Any:
    """Assignments past their due date at the branches ``actor`` sees (the managers' home)."""
    moment = now or timezone.now()
    return branch_scope(actor).filter(
        Assignment.objects.filter(
            Q(review__isnull=True) & Q(due_at__lt=moment) & Q(interaction__deleted_at__isnull=True)
        )
    )


# --- calibration --------------------------------------------------------------------------


NOT_APPLICABLE = "na"
MIN_KAPPA_SUBJECTS = 2


def _raters_used(subjects: Sequence[Sequence[Any]]) -> int:
    """How many answers per subject ``stats.agreement`` keeps (its own rule: the most common
    count of at least two, ties to the larger), so a page can say Cohen (2) or Fleiss (3+)."""
    tally: dict[int, int] = {}
    for answers in subjects:
        size = len([a for a in answers if a is not None])
        if size >= 2:
            tally[size] = tally.get(size, 0) + 1
    return max(tally, key=lambda size: (tally[size], size)) if tally else 0


def _kappa_row(scope: str, subjects: list[list[Any]]) -> dict[str, Any]:
    """Kappa over ``subjects``; left out (``kappa`` None, ``n`` kept) below two subjects,
    where chance agreement comes from the one subject being judged and kappa says nothing."""
    kappa = stats.agreement(subjects) if subjects else None
    n = kappa.n if kappa is not None else 0
    if n < MIN_KAPPA_SUBJECTS:
        kappa = None
    raters = _raters_used(subjects)
    return {
        "scope": scope,
        "kappa": kappa,
        "method": ("cohen" if raters == 2 else "fleiss") if kappa is not None else "",
        "raters": raters,
        "n": n,
    }


def _pairs_agreeing(answers: Sequence[Any]) -> tuple[int, int]:
    """(pairs of reviewers who gave the same answer, pairs of reviewers)."""
    size = len(answers)
    counts = [answers.count(answer) for answer in dict.fromkeys(answers)]
    agreeing = sum(count * (count - 1) // 2 for count in counts)
    return agreeing, size * (size - 1) // 2


def _sample_sd(values: Sequence[float]) -> float | None:
    """The standard deviation with n - 1 (the reviewers are a sample of who might score)."""
    return statistics.stdev(values) if len(values) >= 2 else None


def item_agreement(sessions: QuerySet[CalibrationSession], code: str) -> list[dict[str, Any]]:
    """Per item of checklist ``code``, agreement across its calibration ``sessions``: each
    session (one interaction) is a subject and its reviewers the raters, so kappa is
    Cohen's for two reviewers and Fleiss' for more, with ``n`` the sessions. Items match by
    code across versions; N/A is an answer of its own, an item a version lacks is left out."""
    by_session: dict[int, list[dict[str, Any]]] = {}
    for session_id, answers in Review.objects.filter(
        session__in=sessions, session__scorecard__code=code, deleted_at__isnull=True
    ).values_list("session_id", "answers"):
        by_session.setdefault(session_id, []).append(answers)
    items = Item.objects.filter(scorecard__code=code).order_by(
        "-scorecard__effective_from", "section__position", "position"
    )
    newest = {item.code: item for item in reversed(list(items))}  # the newest text wins
    return [
        {
            "item": item,
            **_kappa_row(
                code,
                [
                    [
                        (NOT_APPLICABLE if a[item_code] is None else a[item_code])
                        if item_code in a
                        else None
                        for a in answers
                    ]
                    for answers in by_session.values()
                ],
            ),
        }
        for item_code, item in newest.items()
    ]


def calibration_agreement(session: CalibrationSession) -> dict[str, Any]:
    """How far the reviewers of a calibration session agree on its one interaction.

    A session is one interaction, so an item is one subject: a kappa per item would rest on
    a single subject and mean nothing. Instead:

    - ``agreement``: kappa over the session with the checklist's items as the subjects and
      the reviewers as the raters (Cohen's for two reviewers, Fleiss' for more; ``n`` is the
      number of items), one for the exact answers of each scale (a "1" means something else
      on a yes/no item than on a 1-5 one) and one for "failed or not" over every item.
      "Not applicable" is an answer of its own: disagreeing on whether an item applies
      changes the score as much as any other disagreement.
    - ``items``: per item, every reviewer's answer, whether it matches the reference
      reviewer's, and the share of reviewer pairs who answered alike.
    - ``deviations``: per reviewer, the share of items answered otherwise than the reference
      reviewer (``session.reference_reviewer``, once they have scored) and the score
      difference.
    - ``scores``: the spread of the reviews' scores (min, max, mean, sample SD).
    """
    reviews = list(
        Review.objects.filter(session=session, deleted_at__isnull=True)
        .select_related("reviewer")
        .order_by("reviewer__username", "pk")
    )
    reference = next(
        (
            r
            for r in reviews
            if session.reference_reviewer_id is not None
            and r.reviewer_id == session.reference_reviewer_id
        ),
        None,
    )
    if reference is not None:  # the reference first: the others are read against it
        reviews = [reference, *(r for r in reviews if r is not reference)]
    items = list(
        Item.objects.filter(scorecard_id=session.scorecard_id)
        .select_related("section")
        .order_by("section__position", "position")
    )

    def category(item: Item, review: Review, *, fails: bool = False) -> Any:
        if item.code not in review.answers:
            return None  # not answered at all: stats.agreement leaves it out
        value = review.answers[item.code]
        if value is None:
            return NOT_APPLICABLE
        return stats.item_failed(item.scale, value) if fails else value

    rows = []
    for item in items:
        answers = [category(item, r) for r in reviews]
        given = [a for a in answers if a is not None]
        agreeing, pairs = _pairs_agreeing(given)
        expected = category(item, reference) if reference is not None else None
        rows.append(
            {
                "item": item,
                "answers": [
                    {
                        "review": r,
                        "value": r.answers.get(item.code),
                        "matches": None
                        if reference is None or r is reference or a is None or expected is None
                        else a == expected,
                    }
                    for r, a in zip(reviews, answers, strict=True)
                ],
                "n": len(given),
                "pair_share": agreeing / pairs if pairs else None,
                "unanimous": pairs > 0 and agreeing == pairs,
            }
        )
    agreement = [
        _kappa_row(scale, [[category(i, r) for r in reviews] for i in items if i.scale == scale])
        for scale in dict.fromkeys(i.scale for i in items)
    ]
    agreement.append(
        _kappa_row("fails", [[category(i, r, fails=True) for r in reviews] for i in items])
    )
    deviations = []
    if reference is not None:
        for review in reviews[1:]:
            codes = [
                i.code for i in items if i.code in review.answers and i.code in reference.answers
            ]
            differ = sum(review.answers[c] != reference.answers[c] for c in codes)
            deviations.append(
                {
                    "review": review,
                    "compared": len(codes),
                    "differ": differ,
                    "share": differ / len(codes) if codes else None,
                    "score_diff": review.score - reference.score
                    if review.score is not None and reference.score is not None
                    else None,
                }
            )
    scores = [r.score for r in reviews if r.score is not None]
    mean = sum(scores) / len(scores) if scores else None
    return {
        "reviews": reviews,
        "reference": reference,
        "items": rows,
        "agreement": agreement,
        "deviations": deviations,
        "scores": {
            "n": len(scores),
            "min": min(scores) if scores else None,
            "max": max(scores) if scores else None,
            "mean": mean,
            "sd": _sample_sd(scores),
        },
    }
