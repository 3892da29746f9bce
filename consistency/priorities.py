"""Priority areas (SPEC §10, the service cycle's step 4): for some branches over a span of
local days, the moments of truth and the complaint types ranked by what they cost in
satisfaction, what to fix first at the top.

A moment's contacts are the interactions that name it; a complaint type's are the
interactions whose complaint has that type, grouped by the type's code (a retired type and
its successor of the same code are one line, named by the current one). Each is set
against every other contact of the same branches and span. The counts are aggregated in
the database (one GROUP BY per kind of candidate); the statistics, their definitions and
the ranking are ``consistency.priority_stats``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext as _

from complaints.models import ComplaintType
from consistency.models import PeriodKind
from consistency.priority_stats import (
    Answers,
    Difference,
    SatisfactionCost,
    Verdict,
    satisfaction_cost,
)
from consistency.rollups import DayRange, next_month, within_span
from interactions.models import Interaction, Moment

PRIORITY_WEEKS = 12  # the span pages look over: a week at one moment is too few answers
TOP_SHOWN = 5  # the branch and case pages list this many; their CSV has them all
MOMENT, TYPE = "moment", "type"
AREA_KINDS = [MOMENT, TYPE]  # what a priority area is
SATISFIED_CSAT, PROMOTER_NPS, DETRACTOR_NPS = 4, 9, 6

VERDICT_STATUS = {
    Verdict.HARM: "alarm",
    Verdict.UNCERTAIN: "warning",
    Verdict.BETTER: "ok",
    Verdict.TOO_LITTLE_DATA: "insufficient",
}

ANSWER_COUNTS = {
    "contacts": Count("id"),
    "csat_n": Count("id", filter=Q(csat__isnull=False)),
    "csat_ok": Count("id", filter=Q(csat__gte=SATISFIED_CSAT)),
    "nps_n": Count("id", filter=Q(nps__isnull=False)),
    "promoters": Count("id", filter=Q(nps__gte=PROMOTER_NPS)),
    "detractors": Count("id", filter=Q(nps__lte=DETRACTOR_NPS)),
}


@dataclass(frozen=True)
class PriorityArea:
    """One moment of truth or complaint type, what it costs, and its place in the list."""

    kind: str  # MOMENT or TYPE
    key: str  # "moment:<id>" or "type:<code>": what a plan is started from
    name: str  # in the reader's language
    within: str  # the moment's service cycle, the type's area
    is_critical: bool  # the moment (a type's moment, if it names one) is critical
    customers: int  # distinct known customers among the affected contacts
    cost: SatisfactionCost
    rank: int = 0  # 1: fix first

    @property
    def verdict(self) -> str:
        return str(self.cost.verdict)

    @property
    def status_class(self) -> str:
        """The badge colour of the verdict, as the consistency pages colour statuses."""
        return VERDICT_STATUS[self.cost.verdict]

    @property
    def kind_label(self) -> str:
        return _("moment of truth") if self.kind == MOMENT else _("complaint type")

    @property
    def verdict_words(self) -> str:
        return verdict_words(self.cost.verdict)

    @property
    def csat_sentence(self) -> str:
        return csat_sentence(self.cost)

    @property
    def csat_shares(self) -> str:
        """E.g. "63 % against 85 %": the satisfied share of its contacts and of the rest."""
        return _("%(share)s against %(rest)s") % {
            "share": percent(self.cost.affected.csat_share),
            "rest": percent(self.cost.rest.csat_share),
        }

    @property
    def csat_answers(self) -> str:
        """E.g. "33 and 510 answers": the CSAT answers behind each share."""
        return _("%(n)s and %(rest_n)s answers") % {
            "n": self.cost.affected.csat_n,
            "rest_n": self.cost.rest.csat_n,
        }

    @property
    def lost_estimate(self) -> str:
        """The satisfied contacts lost, whole and signed: "20", "\u22123"."""
        lost = self.cost.lost
        return "\u2013" if lost is None else whole(lost.estimate)

    @property
    def lost_range(self) -> str:
        """Its 95 % interval: "7 to 36"."""
        lost = self.cost.lost
        if lost is None:
            return "\u2013"
        return _("%(lower)s to %(upper)s") % {
            "lower": whole(lost.lower),
            "upper": whole(lost.upper),
        }

    @property
    def csat_points(self) -> str:
        """The CSAT difference and its interval in points: "-26 (-39 to -12)"."""
        return interval_points(self.cost.csat)

    @property
    def nps_points(self) -> str:
        return interval_points(self.cost.nps)


def priority_span(end: date, weeks: int = PRIORITY_WEEKS) -> tuple[date, date]:
    """The ``weeks`` weeks of local days before ``end``: [start, end)."""
    return end - timedelta(weeks=weeks), end


def period_priority_span(kind: str, period_start: date) -> tuple[date, date]:
    """What a page of one period looks over: the 12 weeks up to the period's end."""
    if kind == PeriodKind.MONTH:
        return priority_span(next_month(period_start))
    days = 1 if kind == PeriodKind.DAY else 7
    return priority_span(period_start + timedelta(days=days))


def priority_section(
    areas: list[PriorityArea], start: date, end: date, top: int = TOP_SHOWN
) -> dict[str, Any]:
    """What a page's "Priority areas" section shows: the first ``top`` of the list, how
    many there are in all, and the span."""
    return {
        "areas": areas[:top],
        "count": len(areas),
        "first_day": start,
        "last_day": end - timedelta(days=1),
        "weeks": (end - start).days // 7,
    }


def plan_opening(areas: list[PriorityArea], key: str, start: date, end: date) -> str | None:
    """The opening of a plan started from the area ``key`` names; None if the list has no
    such area (a stale or mistyped link)."""
    area = next((a for a in areas if a.key == key), None)
    return plan_text(area, start, end) if area else None


def _live(branch_ids: Iterable[int], start: date, end: date) -> QuerySet[Interaction]:
    rows = Interaction.objects.filter(deleted_at__isnull=True)
    return within_span(rows, DayRange(branch_ids=tuple(branch_ids), first=start, last=end))


def _answers(row: dict[str, Any]) -> Answers:
    return Answers(*(row[name] or 0 for name in ANSWER_COUNTS))


def priority_areas(*, branch_ids: Iterable[int], start: date, end: date) -> list[PriorityArea]:
    """The moments of truth and complaint types of ``branch_ids``' live contacts on the
    local days [start, end), each against the rest of those contacts, in the order to fix
    them: clear harm by cost, then the uncertain by cost, then those whose contacts fare
    better, and last those with too few answers to tell. Five queries, however many
    contacts."""
    ids = tuple(branch_ids)
    if not ids:
        return []
    rows = _live(ids, start, end)
    total = _answers(rows.aggregate(**ANSWER_COUNTS))
    grouped = {"customers": Count("customer_id", distinct=True), **ANSWER_COUNTS}
    by_moment = list(
        rows.filter(moment__isnull=False).values("moment_id").annotate(**grouped).order_by()
    )
    by_type = list(
        rows.filter(complaint__type__isnull=False)
        .values(code=F("complaint__type__code"))
        .annotate(**grouped)
        .order_by()
    )
    moments = (
        Moment.objects.select_related("cycle").in_bulk([r["moment_id"] for r in by_moment])
        if by_moment
        else {}
    )
    types = _current_types([r["code"] for r in by_type])
    areas: list[PriorityArea] = []
    for row in by_moment:
        moment = moments[row["moment_id"]]
        areas.append(
            _area(MOMENT, f"moment:{moment.pk}", moment.name, moment.cycle.name,
                  moment.is_critical, row, total)
        )  # fmt: skip
    for row in by_type:
        kind = types[row["code"]]
        critical = kind.moment is not None and kind.moment.is_critical
        areas.append(
            _area(TYPE, f"type:{kind.code}", kind.name, kind.area.name, critical, row, total)
        )
    areas.sort(key=lambda a: (*a.cost.rank_key, a.name))
    return [replace(a, rank=position) for position, a in enumerate(areas, start=1)]


def _area(
    kind: str, key: str, name: str, within: str, critical: bool, row: dict[str, Any], total: Answers
) -> PriorityArea:
    affected = _answers(row)
    return PriorityArea(
        kind=kind,
        key=key,
        name=name,
        within=within,
        is_critical=critical,
        customers=row["customers"],
        cost=satisfaction_cost(affected, total - affected),
    )


def _current_types(codes: list[str]) -> dict[str, ComplaintType]:
    """Each code's type as staff know it now: the live one, else the last retired."""
    if not codes:
        return {}
    chosen: dict[str, ComplaintType] = {}
    for kind in (
        ComplaintType.objects.filter(code__in=codes)
        .select_related("area", "moment")
        .order_by(F("retired_at").desc(nulls_first=True), "-pk")
    ):
        chosen.setdefault(kind.code, kind)
    return chosen


# --- in words ------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    """A share as people say it: 62 % (a dash without data)."""
    return "\u2013" if value is None else f"{formats.number_format(value * 100, 0)} %"


def whole(value: float) -> str:
    """A count estimate, rounded, with a true minus sign when negative."""
    rounded = round(value)
    return f"\u2212{-rounded}" if rounded < 0 else str(rounded)


def points(value: float) -> str:
    """A difference of shares in percentage points, signed, to a tenth: -26.4, +4.0, 0.0
    (in the language's numbers: -26,4 in Indonesian)."""
    rounded = round(value * 100, 1)
    if rounded == 0:
        return formats.number_format(0.0, 1)
    sign = "+" if rounded > 0 else "\u2212"
    return sign + formats.number_format(abs(rounded), 1)


def interval_points(difference: Difference | None) -> str:
    if difference is None:
        return "\u2013"
    return _("%(estimate)s (%(lower)s to %(upper)s)") % {
        "estimate": points(difference.estimate),
        "lower": points(difference.lower),
        "upper": points(difference.upper),
    }


def verdict_words(verdict: Verdict) -> str:
    return {
        Verdict.HARM: _("clearly worse"),
        Verdict.UNCERTAIN: _("unclear"),
        Verdict.BETTER: _("better than the rest"),
        Verdict.TOO_LITTLE_DATA: _("too little data"),
    }[verdict]


def csat_sentence(cost: SatisfactionCost) -> str:
    """E.g. "62 % satisfied (48 answers) against 88 % for the other contacts (1204):
    -26 points (95 % interval -39 to -12)"."""
    affected, rest = cost.affected, cost.rest
    head = _(
        "%(share)s satisfied (%(n)s answers) against %(rest)s for the other contacts (%(rest_n)s)"
    ) % {
        "share": percent(affected.csat_share),
        "n": affected.csat_n,
        "rest": percent(rest.csat_share),
        "rest_n": rest.csat_n,
    }
    if cost.csat is None:
        return head
    return _("%(head)s: %(difference)s points (95 %% interval %(lower)s to %(upper)s)") % {
        "head": head,
        "difference": points(cost.csat.estimate),
        "lower": points(cost.csat.lower),
        "upper": points(cost.csat.upper),
    }


def plan_text(area: PriorityArea, start: date, end: date) -> str:
    """The sentence an action plan started from ``area`` opens with: what it is and what
    it costs, in the reader's language."""
    span = _("%(first)s to %(last)s") % {
        "first": formats.date_format(start),
        "last": formats.date_format(end - timedelta(days=1)),
    }
    what = _("Priority area: %(kind)s “%(name)s” (%(within)s), %(span)s.") % {
        "kind": area.kind_label,
        "name": area.name,
        "within": area.within,
        "span": span,
    }
    lines = [
        what,
        _("CSAT: %(sentence)s; %(verdict)s.")
        % {"sentence": area.csat_sentence, "verdict": area.verdict_words},
    ]
    reach = {"contacts": area.cost.affected.contacts, "customers": area.customers}
    lost = area.cost.lost
    if lost is not None and lost.estimate > 0:
        lines.append(
            _(
                "About %(lost)s satisfied contacts lost (95 %% interval %(lower)s to %(upper)s) "
                "of %(contacts)s contacts, %(customers)s customers."
            )
            % {
                "lost": formats.number_format(lost.estimate, 0),
                "lower": formats.number_format(lost.lower, 0),
                "upper": formats.number_format(lost.upper, 0),
                **reach,
            }
        )
    else:
        lines.append(_("%(contacts)s contacts, %(customers)s customers.") % reach)
    lines.append(_("What we will do:") + " ")
    return "\n".join(lines)


PRIORITY_COLUMNS = [
    "rank", "kind", "key", "name", "within", "critical", "verdict", "contacts", "customers",
    "csat_n", "csat_satisfied", "csat_share", "rest_csat_n", "rest_csat_share",
    "csat_difference", "csat_lower", "csat_upper", "nps_n", "nps", "rest_nps_n", "rest_nps",
    "nps_difference", "nps_lower", "nps_upper", "satisfied_lost", "satisfied_lost_lower",
    "satisfied_lost_upper", "first_day", "last_day",
]  # fmt: skip


def priority_rows(areas: list[PriorityArea], start: date, end: date) -> list[dict[str, Any]]:
    """The list as CSV rows (shares as fractions, NPS from -1 to 1)."""
    rows = []
    for a in areas:
        cost = a.cost
        csat, nps, lost = cost.csat, cost.nps, cost.lost
        rows.append(
            {
                "rank": a.rank, "kind": a.kind, "key": a.key, "name": a.name,
                "within": a.within, "critical": a.is_critical, "verdict": a.verdict,
                "contacts": cost.affected.contacts, "customers": a.customers,
                "csat_n": cost.affected.csat_n, "csat_satisfied": cost.affected.csat_ok,
                "csat_share": cost.affected.csat_share, "rest_csat_n": cost.rest.csat_n,
                "rest_csat_share": cost.rest.csat_share,
                "csat_difference": csat.estimate if csat else None,
                "csat_lower": csat.lower if csat else None,
                "csat_upper": csat.upper if csat else None,
                "nps_n": cost.affected.nps_n, "nps": cost.affected.nps,
                "rest_nps_n": cost.rest.nps_n, "rest_nps": cost.rest.nps,
                "nps_difference": nps.estimate if nps else None,
                "nps_lower": nps.lower if nps else None,
                "nps_upper": nps.upper if nps else None,
                "satisfied_lost": lost.estimate if lost else None,
                "satisfied_lost_lower": lost.lower if lost else None,
                "satisfied_lost_upper": lost.upper if lost else None,
                "first_day": start, "last_day": end - timedelta(days=1),
            }
        )  # fmt: skip
    return rows
