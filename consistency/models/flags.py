"""Flags: the evidence, one row per (branch, metric, channel, period, test) (SPEC §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from branches.models import Branch
from common.audit import AuditStamp
from consistency.models.measures import CHANNEL_SCOPES, Metric, PeriodKind


class TestKind(models.TextChoices):
    __test__ = False  # a choice list, not a pytest test class
    STANDARD = "standard", "Against the standard"
    PEERS = "peers", "Against peers"
    CUSUM = "cusum", "Drift (CUSUM)"


class Severity(models.TextChoices):
    WARNING = "warning", "Warning (95 %)"
    ALARM = "alarm", "Alarm (99.8 %)"
    SIGNAL = "signal", "CUSUM signal"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ACTION_PLANNED = "action_planned", "Action planned"
    RESOLVED = "resolved", "Resolved"
    CLEARED = "cleared", "Cleared (evidence gone)"


class Flag(models.Model):
    """A branch diverging on a metric in a period by one test. Recomputing updates the same
    row; when the evidence goes away it is closed as ``cleared``, never deleted."""

    CLOSED = frozenset({FlagStatus.RESOLVED, FlagStatus.CLEARED})  # nothing left to do

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="flags")
    metric = models.CharField(max_length=32, choices=Metric.choices)
    channel = models.CharField(max_length=16, choices=CHANNEL_SCOPES)
    kind = models.CharField(max_length=8, choices=PeriodKind.choices, default=PeriodKind.WEEK)
    period_start = models.DateField()
    test = models.CharField(max_length=8, choices=TestKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    # Evidence: the cell and what it was judged against.
    x = models.IntegerField()
    n = models.PositiveIntegerField()
    value = models.FloatField()
    centre = models.FloatField(help_text="The target (standard), pooled chain value (peers).")
    lower95 = models.FloatField(null=True)
    upper95 = models.FloatField(null=True)
    lower998 = models.FloatField(null=True)
    upper998 = models.FloatField(null=True)
    z = models.FloatField(null=True)
    abs_z = models.FloatField(default=0.0)
    cusum = models.FloatField(null=True, help_text="CUSUM value when it signalled.")
    critical_moments = models.PositiveIntegerField(
        default=0, help_text="Complaints or low CSAT at critical moments of truth in the period."
    )
    # Lifecycle.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    plan = models.TextField(blank=True, default="")
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Multiple testing (consistency.case_rules): the flag's one-sided p-value, and whether
    # it survived the false-discovery-rate control of its period (it then opens a case).
    p_value = models.FloatField(null=True, blank=True)
    discovery = models.BooleanField(default=False)
    signals = models.PositiveSmallIntegerField(
        default=0, help_text="CUSUM: how many times the chart signalled that week."
    )
    peer_group = models.CharField(
        max_length=32, blank=True, default="", help_text="Peers: the group pooled; empty: chain."
    )
    case = models.ForeignKey(
        "consistency.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="flags"
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

    def __str__(self) -> str:
        return f"{self.branch.code} {self.metric}/{self.channel} {self.period_start} {self.test}"


class FlagEvent(AuditStamp):
    """Who did what to a flag, when and from where (the engine's own updates have no actor
    and come from the system)."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
