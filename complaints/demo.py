"""Complaints for the demo chain: the starter taxonomy, a complaint for every complaint
interaction (text in Indonesian or English with the slang and typos customers write, a
type where staff have typed it, a remedy, an owner, and handling as far as its age
allows: old ones closed, recent ones in every step, a few overdue), then the type
classifier trained on them.

One branch is planted: most of its complaints are about a wrong amount of cash (a few more
contacts a week complain of it), while its total complaint rate stays the chain's. The
engine must find the type's divergence without a divergence of the total; the plant joins
the demo's truth file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from branches.models import Branch, Role, User
from complaints import policy
from complaints.demo_texts import TYPE_WEIGHTS, complaint_text, remedy_text
from complaints.models import Complaint, ComplaintEvent, ComplaintType, Severity, Status
from complaints.services import DEFAULT_DAYS, reference_of
from complaints.taxonomy import taxonomy_seed
from interactions.models import Interaction

PLANTED_TYPE = "wrong-amount"
PLANTED_SHARE = 0.9  # of the planted branch's complaints (the chain: about one in five)
# Contacts a week the planted branch's customers also complain about a wrong amount: its
# total complaint rate rises to about the chain's (2.5 %, within every limit).
PLANTED_EXTRA_PER_WEEK = 3
MOMENT_SHARE = 0.4  # a complaint at a type's moment of truth is of that type this often
UNTYPED_DAYS = 10  # complaints this recent are left untyped now and then (staff confirm)
SEVERITIES = (
    [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL],
    [0.3, 0.5, 0.17, 0.03],
)
RESPONSES = [
    "Kami mohon maaf atas ketidaknyamanan ini; selisihnya sudah kami kembalikan ke rekening Anda.",
    "Kami sudah berbicara dengan petugas terkait dan menambah loket pada jam sibuk.",
    "We apologise; the fee has been refunded and the tariff explained in writing.",
    "We have checked the transaction and the amount has been corrected.",
]


@dataclass
class ComplaintDemo:
    complaints: int = 0
    typed: int = 0
    open: int = 0
    overdue: int = 0
    planted_branch: str = ""


def demo_complaints_loaded() -> bool:
    return Complaint.objects.exists()


def _planted_branch(truth: dict[str, Any]) -> str:
    """The second-largest branch nothing else was planted in (the largest carries the
    quality reviews' plant)."""
    free = sorted(
        ((b["weight"], code) for code, b in truth["branches"].items() if not b["planted"]),
        reverse=True,
    )
    return free[1][1] if len(free) > 1 else free[0][1]


def _type_draw(
    moment: str | None, planted: bool, rng: np.random.Generator, by_moment: dict[str, str]
) -> str:
    if planted and rng.random() < PLANTED_SHARE:
        return PLANTED_TYPE
    if moment in by_moment and rng.random() < MOMENT_SHARE:
        return by_moment[moment]
    codes = [c for c in TYPE_WEIGHTS if c != PLANTED_TYPE or not planted]
    weights = np.array([TYPE_WEIGHTS[c] for c in codes])
    return codes[int(rng.choice(len(codes), p=weights / weights.sum()))]


def _handling(
    complaint: Complaint, now: datetime, rng: np.random.Generator, owner: int | None
) -> list[tuple[str, str, str, datetime, str]]:
    """Move the complaint as far as its age allows; returns its steps (action, from, to,
    when, note)."""
    steps: list[tuple[str, str, str, datetime, str]] = [
        ("received", "", Status.RECEIVED, complaint.received_at, "")
    ]
    age = (now - complaint.received_at).days
    when = complaint.received_at
    plan = [
        ("acknowledge", Status.ACKNOWLEDGED, 0.2, 1.5),
        ("investigate", Status.INVESTIGATING, 0.5, 2.0),
        ("respond", Status.RESPONDED, 0.5, 3.0),
        ("close", Status.CLOSED, 0.5, 2.0),
    ]
    late = rng.random() < 0.12  # some complaints stall: they end up overdue
    for action, status, low, high in plan:
        when = when + timedelta(days=float(rng.uniform(low, high)) * (3 if late else 1))
        if when >= now or (late and action in {"respond", "close"} and age < 21):
            break
        steps.append((action, complaint.status, status, when, ""))
        complaint.status = status
        if action == "acknowledge":
            complaint.acknowledged_at = when
        elif action == "respond":
            complaint.responded_at = when
            complaint.response = str(RESPONSES[int(rng.integers(len(RESPONSES)))])
        elif action == "close":
            complaint.closed_at = when
    complaint.owner_id = owner if complaint.status != Status.RECEIVED else None
    complaint.updated_at = when
    return steps


def _plant_extra(branch_id: int, truth: dict[str, Any], rng: np.random.Generator) -> None:
    """A few more of the planted branch's contacts each week become complaints (to be
    typed as a wrong amount below)."""
    start = date.fromisoformat(truth["start"])
    chosen: list[int] = []
    for week in range(truth["weeks"]):
        monday = start + timedelta(weeks=week)
        candidates = list(
            Interaction.objects.filter(
                branch_id=branch_id,
                is_complaint=False,
                deleted_at__isnull=True,
                occurred_at__date__gte=monday,
                occurred_at__date__lt=monday + timedelta(days=7),
            ).values_list("pk", flat=True)
        )
        if candidates:
            picks = rng.choice(len(candidates), size=min(PLANTED_EXTRA_PER_WEEK, len(candidates)))
            chosen += [candidates[int(i)] for i in picks]
    Interaction.objects.filter(pk__in=chosen).update(is_complaint=True)


def demo_complaints_seed(
    *, truth_file: Path, progress: Callable[[int], object] | None = None, seed: int = 42
) -> ComplaintDemo:
    """Taxonomy, complaints and their handling for the demo chain; the plant joins the
    truth file."""
    truth = json.loads(truth_file.read_text())
    rng = np.random.default_rng(seed)
    result = ComplaintDemo(planted_branch=_planted_branch(truth))
    now = timezone.now()
    with transaction.atomic():
        taxonomy_seed()
        types = {t.code: t for t in ComplaintType.objects.filter(retired_at__isnull=True)}
        by_moment = {t.moment.name: code for code, t in types.items() if t.moment is not None}
        branches = {b.pk: b for b in Branch.objects.all()}
        planted_pk = next(pk for pk, b in branches.items() if b.code == result.planted_branch)
        owners = dict(
            User.objects.filter(role=Role.BRANCH_MANAGER).values_list("branches__pk", "pk")
        )
        _plant_extra(planted_pk, truth, rng)
        known = set(Complaint.objects.values_list("interaction_id", flat=True))
        calls = (
            Interaction.objects.filter(is_complaint=True, deleted_at__isnull=True)
            .exclude(pk__in=known)
            .order_by("occurred_at", "pk")
            .values_list("pk", "branch_id", "occurred_at", "moment__name")
        )
        complaints: list[Complaint] = []
        steps: list[list[tuple[str, str, str, datetime, str]]] = []
        for pk, branch_id, occurred_at, moment in calls.iterator(chunk_size=5000):
            planted = branch_id == planted_pk
            code = _type_draw(moment, planted, rng, by_moment)
            text, language = complaint_text(code, rng)
            severity = str(rng.choice(SEVERITIES[0], p=SEVERITIES[1]))
            acknowledge, respond = DEFAULT_DAYS[Severity(severity)]
            zone = branches[branch_id].timezone
            fresh = (now - occurred_at).days < UNTYPED_DAYS
            complaint = Complaint(
                reference=reference_of(Interaction(pk=pk, occurred_at=occurred_at)),
                interaction_id=pk,
                branch_id=branch_id,
                received_at=occurred_at,
                type=None if fresh and rng.random() < 0.4 else types[code],
                severity=severity,
                text=text,
                remedy=remedy_text(rng, language) if rng.random() < 0.6 else "",
                acknowledge_due=policy.due_at(occurred_at, acknowledge, zone),
                respond_due=policy.due_at(occurred_at, respond, zone),
                created_at=occurred_at,
            )
            steps.append(_handling(complaint, now, rng, owners.get(branch_id)))
            complaints.append(complaint)
            if progress is not None:
                progress(1)
        Complaint.objects.bulk_create(complaints, batch_size=2000)
        ComplaintEvent.objects.bulk_create(
            (
                ComplaintEvent(
                    complaint=c,
                    actor_id=c.owner_id if action != "received" else None,
                    action=action,
                    from_status=before,
                    to_status=after,
                    at=when,
                    note=note,
                )
                for c, done in zip(complaints, steps, strict=True)
                for action, before, after, when, note in done
            ),
            batch_size=5000,
        )
    result.complaints = len(complaints)
    result.typed = sum(1 for c in complaints if c.type_id)
    result.open = sum(1 for c in complaints if c.status != Status.CLOSED)
    result.overdue = sum(
        1
        for c in complaints
        if (c.status == Status.RECEIVED and c.acknowledge_due < now)
        or (c.status in {Status.ACKNOWLEDGED, Status.INVESTIGATING} and c.respond_due < now)
    )
    _truth_add(truth_file, truth, result.planted_branch, date.fromisoformat(truth["start"]))
    return result


def _truth_add(truth_file: Path, truth: dict[str, Any], branch: str, start: date) -> None:
    truth["planted"] = [p for p in truth["planted"] if p.get("kind") != "wrong_amount_type"]
    truth["planted"].append(
        {
            "kind": "wrong_amount_type",
            "branch": branch,
            "metric": f"complaint_rate:{PLANTED_TYPE}",
            "channel": None,
            "from": start.isoformat(),
            "expect_flag": True,
            "total_within_limits": True,
            "description": (
                f"About {PLANTED_SHARE:.0%} of the branch's complaints are about a wrong amount "
                "of cash (the chain: about one in five); its total complaint rate is the "
                "chain's."
            ),
        }
    )
    truth_file.write_text(json.dumps(truth, indent=2, default=str))
