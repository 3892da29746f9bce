"""Flags: the evidence, one row per (branch, metric, channel, period, test) (SPEC §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from common.audit import AuditStamp
from consistency.models.measures import CHANNEL_SCOPES, Metric, PeriodKind, metric_label


class TestKind(models.TextChoices):
    __test__ = False  # a choice list, not a pytest test class
    STANDARD = "standard", _("Against the standard")
    PEERS = "peers", _("Against peers")
    CUSUM = "cusum", _("Drift (CUSUM)")


class Severity(models.TextChoices):
    WARNING = "warning", _("Warning (95 %)")
    ALARM = "alarm", _("Alarm (99.8 %)")
    SIGNAL = "signal", _("CUSUM signal")


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACTION_PLANNED = "action_planned", _("Action planned")
    RESOLVED = "resolved", _("Resolved")
    CLEARED = "cleared", _("Cleared (evidence gone)")


class Flag(models.Model):
    """A branch diverging on a metric in a period by one test. Recomputing updates the same
    row; when the evidence goes away it is closed as ``cleared``, never deleted."""

    CLOSED = frozenset({FlagStatus.RESOLVED, FlagStatus.CLEARED})  # nothing left to do

    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="flags", verbose_name=_("branch")
    )
    # A metric, or one complaint type's rate ("complaint_rate:<type code>", see metric_label).
    metric = models.CharField(_("metric"), max_length=80, choices=Metric.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=CHANNEL_SCOPES)
    kind = models.CharField(
        _("period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.WEEK
    )
    period_start = models.DateField(_("period start"))
    test = models.CharField(_("test"), max_length=8, choices=TestKind.choices)
    severity = models.CharField(_("level"), max_length=8, choices=Severity.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN
    )
    # Evidence: the cell and what it was judged against.
    x = models.IntegerField("x")
    n = models.PositiveIntegerField("n")
    value = models.FloatField(_("value"))
    centre = models.FloatField(
        _("centre"), help_text=_("The target (standard), pooled chain value (peers).")
    )
    lower95 = models.FloatField(_("lower limit (95 %)"), null=True)
    upper95 = models.FloatField(_("upper limit (95 %)"), null=True)
    lower998 = models.FloatField(_("lower limit (99.8 %)"), null=True)
    upper998 = models.FloatField(_("upper limit (99.8 %)"), null=True)
    z = models.FloatField("z", null=True)
    abs_z = models.FloatField("|z|", default=0.0)
    cusum = models.FloatField("CUSUM", null=True, help_text=_("CUSUM value when it signalled."))
    critical_moments = models.PositiveIntegerField(
        _("failures at critical moments"),
        default=0,
        help_text=_("Complaints or low CSAT at critical moments of truth in the period."),
    )
    # Lifecycle.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    plan = models.TextField(_("plan"), blank=True, default="")
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Multiple testing (consistency.case_rules): the flag's one-sided p-value, and whether
    # it survived the false-discovery-rate control of its period (it then opens a case).
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    discovery = models.BooleanField(_("opens a case"), default=False)
    signals = models.PositiveSmallIntegerField(
        _("signals"), default=0, help_text=_("CUSUM: how many times the chart signalled that week.")
    )
    peer_group = models.CharField(
        _("peer group"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("Peers: the group pooled; empty: chain."),
    )
    case = models.ForeignKey(
        "consistency.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flags",
        verbose_name=_("case"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "metric", "channel", "kind", "period_start", "test"],
                name="flag_one_per_cell_and_test",
            )
        ]
        indexes = [
            models.Index(fields=["status", "kind", "period_start"], name="flag_queue_idx"),
            models.Index(fields=["updated_at", "id"], name="flag_sync_idx"),
        ]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")

    def __str__(self) -> str:
        return f"{self.branch.code} {self.metric}/{self.channel} {self.period_start} {self.test}"

    def get_metric_display(self) -> str:  # type: ignore[no-redef]
        return metric_label(self.metric)


class FlagEvent(AuditStamp):
    """Who did what to a flag, when and from where (the engine's own updates have no actor
    and come from the system)."""

    flag = models.ForeignKey(
        Flag, on_delete=models.CASCADE, related_name="events", verbose_name=_("flag")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=32)
    from_status = models.CharField(_("from status"), max_length=16, blank=True, default="")
    to_status = models.CharField(_("to status"), max_length=16, blank=True, default="")
    note = models.TextField(_("note"), blank=True, default="")
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("flag event")
        verbose_name_plural = _("flag events")

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
