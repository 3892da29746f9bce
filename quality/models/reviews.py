"""Reviews of interactions against a scorecard version, calibration sessions and disputes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords  # type: ignore[import-untyped]

from branches.models import Branch
from common.audit import AuditStamp
from common.models import (
    ExternalRefModel,
    SoftDeleteModel,
    TimeStampedModel,
    external_ref_constraints,
)
from customers.models import Channel
from interactions.models import Interaction
from quality.models.scorecards import Scorecard


class ReviewKind(models.TextChoices):
    REGULAR = "regular", _("Review")
    CALIBRATION = "calibration", _("Calibration")


class CalibrationSession(models.Model):
    """One interaction put before several reviewers: their agreement is measured, and
    their reviews stay out of every score."""

    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
        verbose_name=_("interaction"),
    )
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.PROTECT, related_name="+", verbose_name=_("scorecard")
    )
    title = models.CharField(_("title"), max_length=120, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="calibration_sessions", verbose_name=_("reviewers")
    )
    reference_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reference reviewer"),
        help_text=_("Whose answers the others are compared with (the QA lead)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("calibration session")
        verbose_name_plural = _("calibration sessions")

    def __str__(self) -> str:
        return self.title or f"calibration {self.pk}"


class Review(TimeStampedModel, SoftDeleteModel, ExternalRefModel):
    """One reviewer's scoring of one interaction against a scorecard version."""

    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.PROTECT,
        related_name="reviews",
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
        verbose_name=_("interaction"),
    )
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("scorecard")
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews_given",
        verbose_name=_("reviewer"),
        help_text=_("Empty for a review scored by another system (its source says which)."),
    )
    # Copies of the interaction's, taken when the review is made.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews_received",
        verbose_name=_("agent"),
    )
    # A branch is never deleted while it has interactions (they protect it); its reviews
    # follow it when it goes.
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="+", verbose_name=_("branch")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    occurred_at = models.DateTimeField(_("interaction time"))
    kind = models.CharField(
        _("kind"), max_length=16, choices=ReviewKind.choices, default=ReviewKind.REGULAR
    )
    session = models.ForeignKey(
        CalibrationSession,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name=_("calibration session"),
    )
    # Item code -> the answer (0/1, or 1 to 5; null: not applicable), as scored.
    answers = models.JSONField(_("answers"), default=dict)
    comment = models.TextField(_("comment"), blank=True, default="")
    score = models.FloatField(_("score"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), default=False)
    critical_fail = models.BooleanField(_("critical fail"), default=False)
    disputed = models.BooleanField(
        _("disputed"), default=False, help_text=_("A dispute is open: the figures say so.")
    )
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[AuditStamp])

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            *external_ref_constraints("review"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                name="review_score_share",
            ),
            models.CheckConstraint(
                condition=Q(kind=ReviewKind.REGULAR, session__isnull=True)
                | Q(kind=ReviewKind.CALIBRATION, session__isnull=False),
                name="review_calibration_has_session",
            ),
            models.UniqueConstraint(
                fields=["session", "reviewer"],
                condition=Q(session__isnull=False),
                name="review_once_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "occurred_at"], name="review_branch_time_idx"),
            models.Index(fields=["agent", "occurred_at"], name="review_agent_time_idx"),
            models.Index(fields=["updated_at", "id"], name="review_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} of interaction {self.interaction_id}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    PARTLY_ACCEPTED = "partly_accepted", _("Partly accepted")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    """The reviewed agent disagrees with a review; a manager settles it."""

    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, related_name="disputes", verbose_name=_("review")
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("raised by"),
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.TextField(_("decision"), blank=True, default="")
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.UniqueConstraint(
                fields=["review"], condition=Q(status="open"), name="dispute_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} of review {self.review_id}"


class DisputeEvent(AuditStamp):
    """Every step of a dispute: who, when, from where, and the note."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="events", verbose_name=_("dispute")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=32)
    note = models.TextField(_("note"), blank=True, default="")
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("dispute step")
        verbose_name_plural = _("dispute steps")

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M}"
