"""Call monitoring for the demo chain: a counter and a phone scorecard (English and
Indonesian), weekly sampling rules, a quarter of reviews drawn by those rules, a few
disputes, one calibration session and coaching notes.

One branch is planted: its counter staff often skip "confirms the amount" (a critical
item), which the engine must find as a divergence of ``qa_critical_fail`` naming the
item. The plant is added to the demo's truth file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from branches.models import Branch, Role, User
from interactions.models import Interaction, Moment
from quality import services, stats
from quality.models import (
    Assignment,
    CalibrationSession,
    Dispute,
    DisputeStatus,
    Item,
    Review,
    SamplingRule,
    Scale,
    Scorecard,
    Section,
)
from quality.sampling import assignments_draw

PLANTED_ITEM = "confirms-amount"
# How often the planted branch's counter staff skip it, and everyone else.
PLANTED_SKIP_P = 0.45
CRITICAL_SKIP_P = 0.02
PER_AGENT = 3

# (code, text_en, text_id, weight, scale, N/A allowed, critical, moment name)
ItemSpec = tuple[str, str, str, float, str, bool, bool, str | None]
YES_NO, FIVE = Scale.YES_NO.value, Scale.ONE_TO_FIVE.value
SCORECARDS: list[tuple[str, str, str, str, list[tuple[str, str, list[ItemSpec]]]]] = [
    (
        "counter",
        "in_person",
        "Counter service",
        "Layanan di loket",
        [
            (
                "Greeting",
                "Sambutan",
                [
                    ("greets-by-name", "Greets the customer by name",
                     "Menyapa nasabah dengan namanya", 1.0, YES_NO, False, False, None),
                    ("friendly-manner", "Friendly manner and eye contact",
                     "Sikap ramah dan kontak mata", 1.0, FIVE, False, False, "At the counter"),
                ],
            ),
            (
                "Service",
                "Layanan",
                [
                    ("does-not-interrupt", "Lets the customer finish speaking",
                     "Tidak memotong pembicaraan nasabah", 1.0, YES_NO, False, False, None),
                    (PLANTED_ITEM, "Confirms the amount with the customer",
                     "Mengonfirmasi jumlah uang kepada nasabah", 2.0, YES_NO, False, True,
                     "Count the money"),
                    ("offers-more-help", "Offers further help", "Menawarkan bantuan lain",
                     0.5, YES_NO, True, False, None),
                ],
            ),
            (
                "Closing",
                "Penutup",
                [
                    ("thanks-customer", "Thanks the customer", "Mengucapkan terima kasih",
                     1.0, YES_NO, False, False, "Leave"),
                ],
            ),
        ],
    ),
    (
        "phone",
        "phone",
        "Phone service",
        "Layanan telepon",
        [
            (
                "Opening",
                "Pembukaan",
                [
                    ("answers-with-name", "Answers with the branch's name and their own",
                     "Menjawab dengan nama cabang dan nama sendiri", 1.0, YES_NO, False, False,
                     "Agent answers"),
                    ("verifies-identity", "Verifies the caller before account details",
                     "Memverifikasi penelepon sebelum membahas rekening", 2.0, YES_NO, True,
                     True, None),
                ],
            ),
            (
                "Conversation",
                "Percakapan",
                [
                    ("does-not-interrupt", "Lets the customer finish speaking",
                     "Tidak memotong pembicaraan nasabah", 1.0, YES_NO, False, False, None),
                    (PLANTED_ITEM, "Reads any amount back to the customer",
                     "Membacakan kembali jumlah uang kepada nasabah", 2.0, YES_NO, True, True,
                     "Answer given"),
                    ("clear-explanation", "Explains clearly", "Menjelaskan dengan jelas", 1.0,
                     FIVE, False, False, "Answer given"),
                ],
            ),
            (
                "Closing",
                "Penutup",
                [
                    ("summarises-next-steps", "Summarises the next steps",
                     "Merangkum langkah selanjutnya", 1.0, YES_NO, True, False, None),
                    ("closes-politely", "Closes the call politely",
                     "Menutup telepon dengan sopan", 1.0, YES_NO, False, False, None),
                ],
            ),
        ],
    ),
]  # fmt: skip


@dataclass
class ReviewDemo:
    scorecards: int = 0
    assignments: int = 0
    reviews: int = 0
    open_assignments: int = 0
    disputes: int = 0
    planted_branch: str = ""


def demo_reviews_loaded() -> bool:
    return Review.objects.exists()


def _scorecards_create(effective_from: date) -> list[Scorecard]:
    """The demo's checklists, replacing any a reset demo left behind (they have no reviews:
    the branches' deletion took those)."""
    codes = [code for code, *_ in SCORECARDS]
    SamplingRule.objects.filter(scorecard_code__in=codes).delete()
    CalibrationSession.objects.filter(scorecard__code__in=codes).delete()
    Scorecard.objects.filter(code__in=codes).delete()
    moments = {m.name: m for m in Moment.objects.all()}
    cards = []
    for code, channel, text_en, text_id, sections in SCORECARDS:
        card = Scorecard.objects.create(
            code=code,
            channel=channel,
            text_en=text_en,
            text_id=text_id,
            effective_from=effective_from,
            pass_mark=0.8,
        )
        for s_pos, (s_en, s_id, items) in enumerate(sections, start=1):
            section = Section.objects.create(
                scorecard=card, position=s_pos, text_en=s_en, text_id=s_id
            )
            for i_pos, (i_code, i_en, i_id, weight, scale, na, critical, moment) in enumerate(
                items, start=1
            ):
                Item.objects.create(
                    section=section,
                    position=i_pos,
                    code=i_code,
                    text_en=i_en,
                    text_id=i_id,
                    weight=weight,
                    scale=scale,
                    allow_na=na,
                    critical=critical,
                    moment=moments.get(moment) if moment else None,
                )
        cards.append(card)
    return cards


def _answers(
    items: Sequence[Item], rng: np.random.Generator, skill: float, skip_p: float
) -> dict[str, int | None]:
    """One review's answers: an agent's skill shifts every item; ``skip_p`` is how often
    the critical amount check is missed."""
    answers: dict[str, int | None] = {}
    for item in items:
        if item.allow_na and rng.random() < 0.25:
            answers[item.code] = None
        elif item.code == PLANTED_ITEM:
            answers[item.code] = int(rng.random() >= skip_p)
        elif item.critical:
            answers[item.code] = int(rng.random() >= CRITICAL_SKIP_P)
        elif item.scale == Scale.YES_NO:
            answers[item.code] = int(rng.random() < min(0.97, 0.88 + skill))
        else:
            answers[item.code] = int(np.clip(np.round(rng.normal(4.1 + 3 * skill, 0.7)), 1, 5))
    return answers


def _reviewers(branches: Sequence[Branch]) -> list[User]:
    """HQ's two QA reviewers (the demo's password) and the regional managers (who see
    their regions' branches)."""
    admin = User.objects.filter(username="admin").first()
    reviewers = []
    for username, first in (("qa.lead", "QA lead"), ("qa.reviewer", "QA reviewer")):
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={
                "role": Role.ADMIN,
                "first_name": first,
                "last_name": "HQ",
                "email": f"{username}@demo.example",
                "is_staff": True,
                "password": admin.password if admin is not None else "!",
            },
        )
        reviewers.append(user)
    regions = {b.region_id for b in branches}
    reviewers += list(
        User.objects.filter(role=Role.REGIONAL_MANAGER, regions__in=regions).distinct()
    )
    return reviewers


def _planted_branch(truth: dict[str, Any]) -> str:
    """The largest branch the interactions demo did not plant anything in."""
    free = [(b["weight"], code) for code, b in truth["branches"].items() if not b["planted"]]
    return max(free)[1]


def _review_rows(
    assignments: Sequence[Assignment],
    cards: dict[str, Scorecard],
    items: dict[int, list[Item]],
    planted: int,
    rng: np.random.Generator,
) -> list[Review]:
    skills: dict[int, float] = {}
    rows = []
    for a in assignments:
        card = cards[a.rule.scorecard_code]
        skill = skills.setdefault(a.agent_id, float(rng.normal(0, 0.03)))
        planted_counter = a.branch_id == planted and a.interaction.channel == "in_person"
        values = _answers(
            items[card.pk], rng, skill, PLANTED_SKIP_P if planted_counter else CRITICAL_SKIP_P
        )
        result = stats.review_score(
            [
                stats.ItemAnswer(i.weight, i.scale, i.allow_na, i.critical, values[i.code])
                for i in items[card.pk]
            ]
        )
        reviewed_at = a.interaction.occurred_at + timedelta(days=int(rng.integers(1, 6)))
        rows.append(
            Review(
                interaction_id=a.interaction_id,
                scorecard=card,
                reviewer_id=a.reviewer_id,
                agent_id=a.agent_id,
                branch_id=a.branch_id,
                channel=a.interaction.channel,
                occurred_at=a.interaction.occurred_at,
                answers=values,
                score=result.score,
                critical_fail=result.critical_fail,
                passed=stats.passed(result.score, result.critical_fail, card.pass_mark),
                created_at=reviewed_at,
                updated_at=reviewed_at,
            )
        )
    return rows


@transaction.atomic
def demo_reviews_seed(
    *, truth_file: Path, progress: Callable[[int], None] | None = None, seed: int = 42
) -> ReviewDemo:
    """Scorecards, rules and the demo's quarter of reviews; the plant joins the truth."""
    truth = json.loads(truth_file.read_text())
    start, end = date.fromisoformat(truth["start"]), date.fromisoformat(truth["end"])
    first_week = max(start, end - timedelta(weeks=13))
    result = ReviewDemo(planted_branch=_planted_branch(truth))
    branches = list(Branch.objects.filter(is_active=True))
    planted = next(b for b in branches if b.code == result.planted_branch)
    cards = {c.code: c for c in _scorecards_create(start)}
    result.scorecards = len(cards)
    reviewers = _reviewers(branches)
    for card in cards.values():
        rule = SamplingRule.objects.create(
            name=f"{card.text_en}: {PER_AGENT} a week per agent",
            scorecard_code=card.code,
            channel=card.channel,
            per_agent=PER_AGENT,
            due_days=7,
        )
        rule.reviewers.set(reviewers)
        week = first_week
        while week < end:
            assignments_draw(rule, week, now=datetime.combine(week, time(), tzinfo=UTC))
            week += timedelta(weeks=1)
            if progress:
                progress(1)
    items = {c.pk: list(Item.objects.filter(scorecard=c).order_by("pk")) for c in cards.values()}
    assignments = list(
        Assignment.objects.select_related("rule", "interaction").order_by("week", "pk")
    )
    last_week = end - timedelta(weeks=1)
    # Reviewers trail: a third of the last week's are still to do (due next week), and a
    # few of the week before are overdue.
    still_open = {last_week: 3, last_week - timedelta(weeks=1): 9}
    done = [a for a in assignments if a.week not in still_open or a.pk % still_open[a.week] != 0]
    rng = np.random.default_rng(seed)
    reviews = Review.objects.bulk_create(_review_rows(done, cards, items, planted.pk, rng))
    for assignment, review in zip(done, reviews, strict=True):
        assignment.review = review
    Assignment.objects.bulk_update(done, ["review"], batch_size=500)
    result.assignments, result.reviews = len(assignments), len(reviews)
    result.open_assignments = len(assignments) - len(done)
    result.disputes = _disputes(planted, reviews)
    _calibration(cards["phone"], planted, reviewers)
    _coaching(planted, reviews)
    _truth_add(truth_file, truth, result.planted_branch, first_week)
    return result


def _disputes(branch: Branch, reviews: Sequence[Review]) -> int:
    """Two agents of the planted branch dispute a critical fail; one is rejected."""
    failed = [r for r in reviews if r.branch_id == branch.pk and r.critical_fail and r.agent_id]
    manager = User.objects.filter(role=Role.BRANCH_MANAGER, branches=branch).first()
    disputes = []
    seen: set[int] = set()
    for review in failed[-20:]:
        agent_id = review.agent_id
        if agent_id is None or agent_id in seen:
            continue
        seen.add(agent_id)
        agent = User.objects.get(pk=agent_id)
        disputes.append(
            services.dispute_raise(
                actor=agent,
                review=review,
                reason="Saya sudah menyebutkan jumlahnya, tetapi nasabah sedang menelepon.",
            )
        )
        if len(disputes) == 2:
            break
    if disputes and manager is not None:
        services.dispute_settle(
            actor=manager,
            dispute=disputes[0],
            status=DisputeStatus.REJECTED,
            note="The recording has no read-back of the amount.",
        )
    return Dispute.objects.count()


def _calibration(card: Scorecard, branch: Branch, reviewers: Sequence[User]) -> None:
    """One of the branch's phone calls scored by the QA lead (the reference), the other
    QA reviewer and the branch's regional manager, who disagree on a few items."""
    panel = [r for r in reviewers if r.role == Role.ADMIN][:2]
    panel += [r for r in reviewers if r.regions.filter(pk=branch.region_id).exists()][:1]
    interaction = (
        Interaction.objects.alive()
        .filter(branch=branch, channel="phone", staff__isnull=False)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if interaction is None:
        return
    session = CalibrationSession.objects.create(
        interaction=interaction,
        scorecard=card,
        title="Phone calibration: the week's reference call",
        created_by=panel[0],
        reference_reviewer=panel[0],
    )
    session.reviewers.set(panel)
    items = list(Item.objects.filter(scorecard=card).order_by("pk"))
    for n, reviewer in enumerate(panel):
        values: dict[str, int | None] = {}
        for i, item in enumerate(items):
            differs = n > 0 and (i + n) % 4 == 0
            if item.scale == Scale.YES_NO:
                values[item.code] = 0 if differs else 1
            else:
                values[item.code] = 3 if differs else 4
        services.review_submit(
            actor=reviewer, interaction=interaction, values=values, session=session
        )


def _coaching(branch: Branch, reviews: Sequence[Review]) -> None:
    manager = User.objects.filter(role=Role.BRANCH_MANAGER, branches=branch).first()
    failed = [r for r in reviews if r.branch_id == branch.pk and r.critical_fail and r.agent_id]
    if manager is None or not failed:
        return
    agent = User.objects.get(pk=failed[0].agent_id or 0)
    services.coaching_note_add(
        actor=manager,
        agent=agent,
        branch_id=branch.pk,
        note="Read the amount back before handing over the cash, every time.",
        reviews=[r for r in failed if r.agent_id == agent.pk][:3],
    )


def _truth_add(truth_file: Path, truth: dict[str, Any], branch: str, start: date) -> None:
    truth["planted"] = [p for p in truth["planted"] if p.get("kind") != "skips_amount_check"]
    truth["planted"].append(
        {
            "kind": "skips_amount_check",
            "branch": branch,
            "metric": "qa_critical_fail",
            "channel": "in_person",
            "item": PLANTED_ITEM,
            "from": start.isoformat(),
            "expect_flag": True,
            "description": (
                f"Counter staff skip 'confirms the amount' in about {PLANTED_SKIP_P:.0%} of "
                f"reviews (the chain: {CRITICAL_SKIP_P:.0%})."
            ),
        }
    )
    truth_file.write_text(json.dumps(truth, indent=2, default=str))
