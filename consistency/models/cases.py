"""Cases: one divergence episode of one branch on one metric, the work a manager finishes
(SPEC §4a). Flags are its evidence; the engine opens, feeds, resolves and withdraws it,
managers move it along its lifecycle."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from common.audit import AuditStamp
from consistency.models.flags import Severity
from consistency.models.measures import Metric, metric_label


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACTION_PLANNED = "action_planned", _("Action planned")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    WITHDRAWN = "withdrawn", _("Withdrawn (evidence gone)")


OPEN_CASE_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.ACTION_PLANNED,
    CaseStatus.MONITORING,
)


class Case(models.Model):
    OPEN_STATUSES = frozenset(OPEN_CASE_STATUSES)

    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="cases", verbose_name=_("branch")
    )
    # A metric, or one complaint type's rate ("complaint_rate:<type code>", see metric_label).
    metric = models.CharField(_("metric"), max_length=80, choices=Metric.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    severity = models.CharField(
        _("level"),
        max_length=8,
        choices=Severity.choices,
        help_text=_("The worst evidence it holds."),
    )
    # What the evidence shows, kept up to date by the engine.
    channels = models.JSONField(_("channels"), default=list)
    tests = models.JSONField(_("tests"), default=list)
    first_period = models.DateField(_("first period"))
    last_period = models.DateField(_("last period"))
    periods = models.PositiveIntegerField(
        _("periods"), default=0, help_text=_("Periods with evidence.")
    )
    alarm_periods = models.PositiveIntegerField(_("alarm periods"), default=0)
    abs_z = models.FloatField(
        "|z|", default=0.0, help_text=_("The strongest evidence (largest |z|).")
    )
    x = models.IntegerField("x", default=0, help_text=_("The latest period, all channels."))
    n = models.PositiveIntegerField("n", default=0)
    value = models.FloatField(_("value"), null=True)
    target = models.FloatField(_("target"), null=True)
    peer_value = models.FloatField(_("peer value"), null=True)
    peer_group = models.CharField(_("peer group"), max_length=32, blank=True, default="")
    cusum = models.FloatField("CUSUM", null=True)
    critical_moments = models.PositiveIntegerField(_("failures at critical moments"), default=0)
    quiet_periods = models.PositiveSmallIntegerField(
        _("quiet periods"),
        default=0,
        help_text=_("Complete periods in a row back within the limits."),
    )
    rank = models.PositiveSmallIntegerField(
        _("rank"), default=1, help_text=_("0: alarm or signal; 1: warning.")
    )
    priority = models.FloatField(
        _("priority"), default=0.0, help_text=_("Higher first (see consistency.cases).")
    )
    summary = models.TextField(_("summary"), blank=True, default="")
    # What the summary says beyond the fields above (consistency.case_words.summary_facts),
    # so that each reader gets it in their own language.
    wording = models.JSONField(_("summary facts"), default=dict, blank=True, editable=False)
    # The manager's plan.
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
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "metric"],
                condition=Q(status__in=OPEN_CASE_STATUSES),
                name="case_one_open_per_branch_metric",
                violation_error_message=_("This branch already has an open case for this metric."),
            )
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="case_sync_idx"),
            models.Index(fields=["status", "rank"], name="case_queue_idx"),
            models.Index(fields=["branch", "metric"], name="case_branch_metric_idx"),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return f"{self.branch.code} {self.get_metric_display()} ({self.status})"

    def get_metric_display(self) -> str:  # type: ignore[no-redef]
        return metric_label(self.metric)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class CaseEvent(AuditStamp):
    """Who moved a case, when and from where, and why (the engine's steps have no actor and
    come from the system). Openings, escalations and relapses are e-mailed once."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case")
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
    notify_pending = models.BooleanField(_("e-mail pending"), default=False, editable=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(
                fields=["id"], condition=Q(notify_pending=True), name="case_event_notify_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
