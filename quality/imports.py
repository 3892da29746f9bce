"""Reviews scored by other systems (QA tools, speech analytics): created or updated by
(source, external_id) in batches, with the rules every API write follows (common.bulk)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from branches.access import BranchScope, IntegrationPrincipal, branch_scope, is_manager
from common.bulk import NO_SUCH_RECORD, ItemResult, Refusal, bulk_upsert, item_error
from common.events import emit
from common.models import external_ref_filter
from interactions.models import Interaction
from interactions.selectors import interaction_ids_by_ref
from quality.models import Item, Review, ReviewKind, Scorecard
from quality.services import review_score

REVIEW_EDITABLE = [
    "interaction",
    "scorecard",
    "agent",
    "branch",
    "channel",
    "occurred_at",
    "answers",
    "comment",
    "score",
    "passed",
    "critical_fail",
]


class Call(NamedTuple):
    """What a review copies from its interaction (and whether it is deleted)."""

    pk: int
    staff_id: int | None
    branch_id: int
    channel: str
    occurred_at: datetime
    deleted: bool


def _interactions(items: Sequence[dict[str, Any]]) -> dict[Any, Call]:
    """The items' interactions by id and by (source, external_id): two queries a batch,
    reading only what a review copies."""
    refs = [
        (ref["source"], ref["external_id"])
        for item in items
        if (ref := item.get("interaction_ref"))
    ]
    ids = {item["interaction"] for item in items if item.get("interaction") is not None}
    by_ref = interaction_ids_by_ref(refs) if refs else {}
    if by_ref is None:  # SQLite: the table's own index
        by_ref = {}
        sources: dict[str, list[str]] = {}
        for source, external_id in refs:
            sources.setdefault(source, []).append(external_id)
        for source, external_ids in sources.items():
            for row in external_ref_filter(Interaction.objects, source, external_ids):
                by_ref[(row.source, row.external_id)] = row.pk
    wanted = ids | set(by_ref.values())
    rows = {
        pk: Call(pk, staff, branch, channel, at, deleted is not None)
        for pk, staff, branch, channel, at, deleted in _call_rows(sorted(wanted))
    }
    found: dict[Any, Call] = {pk: rows[pk] for pk in ids if pk in rows}
    found.update({ref: rows[pk] for ref, pk in by_ref.items() if pk in rows})
    return found


CALL_COLUMNS = ["id", "staff_id", "branch_id", "channel", "occurred_at", "deleted_at"]


def _call_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    """The interactions' CALL_COLUMNS. On PostgreSQL by ``id = ANY(array)``: a thousand ids
    as an IN list cost ten times as much to run over the monthly partitions."""
    if not ids:
        return []
    if connection.vendor != "postgresql":
        return list(Interaction.objects.filter(pk__in=ids).values_list(*CALL_COLUMNS))
    with connection.cursor() as cursor:  # one statement text for any batch: prepared once
        cursor.execute(
            f"SELECT {', '.join(CALL_COLUMNS)} FROM {Interaction._meta.db_table} "  # noqa: S608
            "WHERE id = ANY(%s::bigint[])",
            [ids],
        )
        return cursor.fetchall()


class _Scorecards:
    """The versions of the batch's checklists and their items, read once."""

    def __init__(self, codes: set[str]) -> None:
        self.versions: dict[str, list[Scorecard]] = {}
        for scorecard in Scorecard.objects.filter(code__in=codes, is_active=True).order_by(
            "-effective_from"
        ):
            self.versions.setdefault(scorecard.code, []).append(scorecard)
        self.items: dict[int, list[Item]] = {}
        versions = [s for v in self.versions.values() for s in v]
        for item in Item.objects.filter(scorecard__in=versions).order_by(
            "section__position", "position"
        ):
            self.items.setdefault(item.scorecard_id, []).append(item)

    def in_force(self, code: str, day: date) -> Scorecard | None:
        return next((s for s in self.versions.get(code, []) if s.effective_from <= day), None)


def _values(
    item: dict[str, Any], interactions: dict[Any, Call], cards: _Scorecards
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """A review's model values from an API item, or its problems."""
    ref = item.get("interaction_ref")
    key = (ref["source"], ref["external_id"]) if ref else item.get("interaction")
    interaction = interactions.get(key) if key is not None else None
    named = "interaction_ref" if ref else "interaction"
    if key is None:
        return None, {"interaction": ["Name the interaction: its id or interaction_ref."]}
    if interaction is None or interaction.deleted:
        return None, {named: ["No such interaction."]}
    scorecard = cards.in_force(item["scorecard"], interaction.occurred_at.date())
    if scorecard is None:
        return None, {"scorecard": [f"No version of '{item['scorecard']}' is in force then."]}
    try:
        scored = review_score(scorecard, cards.items.get(scorecard.pk, []), item["answers"])
    except ValidationError as error:
        return None, {k: [str(m) for m in v] for k, v in error.message_dict.items()}
    values = {
        "interaction_id": interaction.pk,
        "scorecard": scorecard,
        "agent_id": interaction.staff_id,
        "branch_id": interaction.branch_id,
        "channel": interaction.channel,
        "occurred_at": interaction.occurred_at,
        "answers": {i.code: v for i, v in scored.answers},
        "comment": item.get("comment", "").strip(),
        "score": scored.score,
        "passed": scored.passed,
        "critical_fail": scored.critical_fail,
    }
    for name in ("id", "source", "external_id"):
        if name in item:
            values[name] = item[name]
    return values, {}


@transaction.atomic
def reviews_upsert(
    *, actor: Any, items: list[dict[str, Any]], create_only: bool = False
) -> list[ItemResult]:
    """Create or update reviews, each matched by ``id`` or by (source, external_id), the
    interaction by ``interaction`` (id) or ``interaction_ref``, the checklist by its code
    (the version in force on the interaction's day). One result per item, in order."""
    writable = branch_scope(actor, for_write=True)
    visible = branch_scope(actor)
    # A person reviews as on the review page (quality.services.may_review): a manager of
    # the branch, never of their own contacts, and only their own reviews are theirs to
    # change. An integration's reviews are the source's.
    person = None if isinstance(actor, IntegrationPrincipal) else actor
    if person is not None and not is_manager(person):
        writable = BranchScope.nothing()
    interactions = _interactions(items)
    cards = _Scorecards({item["scorecard"] for item in items if item.get("scorecard")})
    failed: dict[int, ItemResult] = {}
    values: list[dict[str, Any] | None] = []
    for index, item in enumerate(items):
        data, problems = _values(item, interactions, cards)
        if data is not None and not visible.allows(data["branch_id"]):
            data, problems = None, {"interaction": ["No such interaction."]}
        elif data is not None and (
            not writable.allows(data["branch_id"])
            or (person is not None and data["agent_id"] == person.pk)
        ):
            failed[index] = item_error(
                index,
                {"interaction": ["You may not review interactions at this branch."]},
                forbidden=True,
            )
            values.append(None)
            continue
        if problems:
            failed[index] = item_error(index, problems, missing="interaction" in problems)
        values.append(data)

    def vet(existing: Sequence[Review]) -> dict[int, Refusal]:
        refusals = {}
        for row in existing:
            if not visible.allows(row.branch_id):
                refusals[row.pk] = Refusal(NO_SUCH_RECORD, hidden=True)
            elif (
                not writable.allows(row.branch_id)
                or row.kind != ReviewKind.REGULAR
                or (person is not None and row.reviewer_id != person.pk)
            ):
                refusals[row.pk] = Refusal("You may not change this review.")
        return refusals

    results = bulk_upsert(
        model=Review,
        items=values,
        failed=failed,
        create_only=create_only,
        editable=REVIEW_EDITABLE,
        vet=vet,
        create_defaults={"reviewer": person} if person is not None else None,
    )
    emit(
        [(f"review.{r.status}", r.instance) for r in results if r.status in {"created", "updated"}],
        actor=actor,
    )
    return results
