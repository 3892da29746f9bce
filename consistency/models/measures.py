"""What service is measured against and on: the standard, the rollups, stale days and the
consistency index (SPEC §3)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords  # type: ignore[import-untyped]

from branches.models import Branch
from common.audit import AuditStamp
from common.memo import memoized
from complaints.models import newest_types
from consistency.stats import Cell, Direction
from customers.models import Channel


class Metric(models.TextChoices):
    RESPONSE = "response_within_standard", _("Response within standard")
    RESOLUTION = "first_contact_resolution", _("First-contact resolution")
    ABANDONMENT = "abandonment_rate", _("Abandonment rate")
    COMPLAINTS = "complaint_rate", _("Complaint rate")
    CSAT = "csat_satisfied", _("CSAT satisfied (4-5)")
    NPS = "nps", _("Net promoter score")
    QA_PASS = "qa_pass", _("QA reviews passed")
    QA_CRITICAL = "qa_critical_fail", _("QA critical fails")
    HANDLING = "complaint_handling_satisfied", _("Complaint handling satisfied (4-5)")


# The metrics counted from quality reviews (SPEC §8), not from contacts.
QA_METRICS = frozenset({Metric.QA_PASS.value, Metric.QA_CRITICAL.value})

# One complaint type's rate (SPEC §10): the complaint rate's metric name and the type's code,
# e.g. "complaint_rate:wrong-amount". Judged against peers only (the standard sets no target
# per type); a flag or case of it is a flag or case like any other.
TYPE_METRIC_PREFIX = f"{Metric.COMPLAINTS.value}:"


def type_metric(code: str) -> str:
    return f"{TYPE_METRIC_PREFIX}{code}"


def metric_type_code(metric: str) -> str | None:
    """The complaint type's code of a per-type metric; None for the other metrics."""
    return (
        metric.removeprefix(TYPE_METRIC_PREFIX) if metric.startswith(TYPE_METRIC_PREFIX) else None
    )


def base_metric(metric: str) -> str:
    """The metric a per-type metric is a part of (its counts, minimum n and words)."""
    return Metric.COMPLAINTS.value if metric.startswith(TYPE_METRIC_PREFIX) else metric


def metric_label(metric: str) -> str:
    """A metric's name in the active language; a per-type metric names its type."""
    code = metric_type_code(metric)
    if code is None:
        return str(Metric(metric).label) if metric in Metric.values else metric
    # Per-process copy (common.memo): a flag list names many rows without a query each.
    kind = memoized("complaints.newest_types", newest_types).get(code)
    return _("Complaints: %(type)s") % {"type": kind.name if kind else code}


ALL_CHANNELS = "all"
# A CSAT answer of this or less is "low" (not satisfied: the metric counts 4-5 as satisfied).
LOW_CSAT = 3


# A cell is one channel of the chain's own list, or all of them together.
CHANNEL_SCOPES = [(ALL_CHANNELS, _("All channels")), *Channel.choices]


# How a target is judged: which side of it is bad (the values are stats.Direction's).
DIRECTION_LABELS = {
    "at_least": pgettext_lazy("target direction", "at least"),
    "at_most": pgettext_lazy("target direction", "at most"),
}
DIRECTIONS = [(d.value, DIRECTION_LABELS[d.value]) for d in Direction]


class PeriodKind(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("ISO week")
    MONTH = "month", _("Month")


class Standard(models.Model):
    """One version of the chain-wide standard, in force from ``effective_from`` until the
    next version's date. A period is judged by the version in force on its first day."""

    name = models.CharField(_("name"), max_length=120)
    effective_from = models.DateField(_("effective from"), unique=True)
    notes = models.TextField(_("notes"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    history = HistoricalRecords(bases=[AuditStamp])

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("standard")
        verbose_name_plural = _("standards")

    def __str__(self) -> str:
        return _("%(name)s (from %(day)s)") % {"name": self.name, "day": self.effective_from}


class Target(models.Model):
    standard = models.ForeignKey(
        Standard, on_delete=models.CASCADE, related_name="targets", verbose_name=_("standard")
    )
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=CHANNEL_SCOPES)
    target = models.FloatField(
        _("target"), help_text=_("A share (0.8 = 80 %); for NPS, -1 to 1 (0.3 = +30).")
    )
    direction = models.CharField(_("direction"), max_length=8, choices=DIRECTIONS)
    min_n = models.PositiveIntegerField(
        _("minimum n"),
        default=20,
        help_text=_("Below this many contacts a cell reads 'insufficient data'."),
    )
    threshold_seconds = models.PositiveIntegerField(
        _("threshold (seconds)"),
        null=True,
        blank=True,
        help_text=_("Response metric only: the longest wait that still meets the standard."),
    )
    cusum_h = models.FloatField(
        _("CUSUM threshold h"),
        default=4.0,
        help_text=_("CUSUM decision threshold (see benchmarks/cusum_calibration.py)."),
    )
    history = HistoricalRecords(bases=[AuditStamp])

    class Meta:
        ordering = ["metric", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["standard", "metric", "channel"], name="target_one_per_metric_channel"
            ),
            models.CheckConstraint(
                condition=Q(metric="nps", target__gte=-1, target__lte=1)
                | (~Q(metric="nps") & Q(target__gte=0, target__lte=1)),
                name="target_value_in_range",
                violation_error_message=_("A target is a share from 0 to 1 (NPS: -1 to 1)."),
            ),
            models.CheckConstraint(condition=Q(cusum_h__gt=0), name="target_cusum_h_positive"),
        ]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self) -> str:
        return f"{self.metric} / {self.channel}"


class Rollup(models.Model):
    """A branch's counts for one period and channel (``all`` = every channel), from which
    every metric is a proportion x / n. Rebuilt from interactions, never edited."""

    # Derived data rebuilt in bulk: no database-level foreign key to check row by row.
    branch = models.ForeignKey(
        Branch,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        verbose_name=_("branch"),
    )
    kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    channel = models.CharField(_("channel"), max_length=16, choices=CHANNEL_SCOPES)
    contacts = models.PositiveIntegerField(_("contacts"), default=0)
    not_abandoned = models.PositiveIntegerField(_("not abandoned"), default=0)
    # Abandonment is measured where a customer can hang up or walk out: not e-mail.
    abandonable = models.PositiveIntegerField(_("abandonable"), default=0)
    abandoned = models.PositiveIntegerField(_("abandoned"), default=0)
    resolved = models.PositiveIntegerField(_("resolved"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    response_n = models.PositiveIntegerField(_("responses timed"), default=0)
    response_ok = models.PositiveIntegerField(_("responses within standard"), default=0)
    csat_n = models.PositiveIntegerField(_("CSAT answers"), default=0)
    csat_ok = models.PositiveIntegerField(_("CSAT satisfied"), default=0)
    nps_n = models.PositiveIntegerField(_("NPS answers"), default=0)
    promoters = models.PositiveIntegerField(_("promoters"), default=0)
    detractors = models.PositiveIntegerField(_("detractors"), default=0)
    critical_failures = models.PositiveIntegerField(
        _("critical failures"),
        default=0,
        help_text=_("Complaints or low CSAT at critical moments of truth."),
    )
    # Quality reviews (quality.Review, regular ones) of the period's interactions.
    qa_reviews = models.PositiveIntegerField(_("QA reviews"), default=0)
    qa_passed = models.PositiveIntegerField(_("QA reviews passed"), default=0)
    qa_critical_fails = models.PositiveIntegerField(_("QA critical fails"), default=0)
    qa_disputed = models.PositiveIntegerField(
        _("QA reviews disputed"), default=0, help_text=_("Counted, with a dispute still open.")
    )
    # Customers' answers on how their complaint was handled, on the day they answered.
    handling_n = models.PositiveIntegerField(_("complaint handling answers"), default=0)
    handling_ok = models.PositiveIntegerField(_("complaint handling satisfied"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "branch", "channel"], name="rollup_unique_cell"
            )
        ]
        indexes = [
            models.Index(fields=["branch", "kind", "period_start"], name="rollup_branch_idx")
        ]
        verbose_name = _("rollup")
        verbose_name_plural = _("rollups")

    def __str__(self) -> str:
        return f"{self.branch_id} {self.kind} {self.period_start} {self.channel}"

    def cell(self, metric: str) -> Cell:
        """The metric as x of n (SPEC §3); NPS carries its detractors."""
        return metric_cell(metric, self.__dict__)


# For each metric: (events counted as x, denominator n), as rollup column names.
METRIC_COLUMNS: dict[str, tuple[str, str]] = {
    Metric.RESPONSE: ("response_ok", "response_n"),
    Metric.RESOLUTION: ("resolved", "not_abandoned"),
    Metric.ABANDONMENT: ("abandoned", "abandonable"),
    Metric.COMPLAINTS: ("complaints", "contacts"),
    Metric.CSAT: ("csat_ok", "csat_n"),
    Metric.NPS: ("promoters", "nps_n"),
    Metric.QA_PASS: ("qa_passed", "qa_reviews"),
    Metric.QA_CRITICAL: ("qa_critical_fails", "qa_reviews"),
    Metric.HANDLING: ("handling_ok", "handling_n"),
}
# Counted from quality reviews, not from interactions.
QA_COLUMNS = ["qa_reviews", "qa_passed", "qa_critical_fails", "qa_disputed"]
# Counted from the customers' answers on the handling of their complaints.
HANDLING_COLUMNS = ["handling_n", "handling_ok"]
COUNT_COLUMNS = [
    "contacts",
    "not_abandoned",
    "abandonable",
    "abandoned",
    "resolved",
    "complaints",
    "response_n",
    "response_ok",
    "csat_n",
    "csat_ok",
    "nps_n",
    "promoters",
    "detractors",
    "critical_failures",
    *QA_COLUMNS,
    *HANDLING_COLUMNS,
]


def metric_cell(metric: str, counts: dict[str, int]) -> Cell:
    x, n = METRIC_COLUMNS[metric]
    detractors = counts["detractors"] if metric == Metric.NPS else None
    return Cell(counts[x], counts[n], detractors)


class TypeRollup(models.Model):
    """A branch's complaints of one type (by code: a retired type and its successor of the
    same code count together) in one period, all channels. The denominator is the
    period's contacts in ``Rollup``. Rebuilt from complaints, never edited."""

    branch = models.ForeignKey(
        Branch,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        verbose_name=_("branch"),
    )
    kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    type_code = models.CharField(_("complaint type"), max_length=60)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period_start", "branch", "type_code"], name="type_rollup_cell"
            )
        ]
        indexes = [
            models.Index(fields=["branch", "kind", "period_start"], name="type_rollup_branch_idx")
        ]
        verbose_name = _("complaint type rollup")
        verbose_name_plural = _("complaint type rollups")

    def __str__(self) -> str:
        return f"{self.branch_id} {self.kind} {self.period_start} {self.type_code}"


class DirtyDay(models.Model):
    """A branch-day whose rollups are out of date (a write, edit, delete or late arrival)."""

    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="+", verbose_name=_("branch")
    )
    day = models.DateField(_("day"))
    marked_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "day"], name="dirty_day_unique")]
        verbose_name = _("day to recompute")
        verbose_name_plural = _("days to recompute")

    def __str__(self) -> str:
        return f"{self.branch_id} {self.day}"


class ConsistencyIndex(models.Model):
    """The share of (branch, metric) cells inside the peer 95 % limits in one period."""

    kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    inside = models.PositiveIntegerField(_("cells inside the limits"))
    cells = models.PositiveIntegerField(_("cells"))
    # The period's family for the false-discovery-rate control: tests made (cells with
    # enough data, per test) and CUSUM charts run.
    tests = models.PositiveIntegerField(_("tests"), default=0)
    charts = models.PositiveIntegerField(_("CUSUM charts"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start"], name="index_one_per_period")
        ]
        verbose_name = _("consistency index")
        verbose_name_plural = _("consistency indices")

    def __str__(self) -> str:
        return f"{self.kind} {self.period_start}"

    @property
    def value(self) -> float | None:
        return self.inside / self.cells if self.cells else None
