"""Cases: one divergence episode of one branch on one metric, the work a manager finishes
(SPEC §4a). Flags are its evidence; the engine opens, feeds, resolves and withdraws it,
managers move it along its lifecycle."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from branches.models import Branch
from common.audit import AuditStamp
from consistency.models.flags import Severity
from consistency.models.measures import Metric


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ACTION_PLANNED = "action_planned", "Action planned"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    WITHDRAWN = "withdrawn", "Withdrawn (evidence gone)"


OPEN_CASE_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.ACTION_PLANNED,
    CaseStatus.MONITORING,
)


class Case(models.Model):
    OPEN_STATUSES = frozenset(OPEN_CASE_STATUSES)

    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="cases")
    metric = models.CharField(max_length=32, choices=Metric.choices)
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    severity = models.CharField(
        max_length=8, choices=Severity.choices, help_text="The worst evidence it holds."
    )
    # What the evidence shows, kept up to date by the engine.
    channels = models.JSONField(default=list)
    tests = models.JSONField(default=list)
    first_period = models.DateField()
    last_period = models.DateField()
    periods = models.PositiveIntegerField(default=0, help_text="Periods with evidence.")
    alarm_periods = models.PositiveIntegerField(default=0)
    abs_z = models.FloatField(default=0.0, help_text="The strongest evidence (largest |z|).")
    x = models.IntegerField(default=0, help_text="The latest period, all channels.")
    n = models.PositiveIntegerField(default=0)
    value = models.FloatField(null=True)
    target = models.FloatField(null=True)
    peer_value = models.FloatField(null=True)
    peer_group = models.CharField(max_length=32, blank=True, default="")
    cusum = models.FloatField(null=True)
    critical_moments = models.PositiveIntegerField(default=0)
    quiet_periods = models.PositiveSmallIntegerField(
        default=0, help_text="Complete periods in a row back within the limits."
    )
    rank = models.PositiveSmallIntegerField(default=1, help_text="0: alarm or signal; 1: warning.")
    priority = models.FloatField(default=0.0, help_text="Higher first (see consistency.cases).")
    summary = models.TextField(blank=True, default="")
    # The manager's plan.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    plan = models.TextField(blank=True, default="")
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "metric"],
                condition=Q(status__in=OPEN_CASE_STATUSES),
                name="case_one_open_per_branch_metric",
                violation_error_message="This branch already has an open case for this metric.",
            )
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="case_sync_idx"),
            models.Index(fields=["status", "rank"], name="case_queue_idx"),
            models.Index(fields=["branch", "metric"], name="case_branch_metric_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.branch.code} {self.get_metric_display()} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class CaseEvent(AuditStamp):
    """Who moved a case, when and from where, and why (the engine's steps have no actor and
    come from the system). Openings, escalations and relapses are e-mailed once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    notify_pending = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(notify_pending=True), name="case_event_notify_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
