"""Call monitoring and coaching (SPEC §8 and §9): scorecards, reviews of interactions, sampled
assignments, calibration sessions, disputes and coaching notes.

A scorecard is versioned like the standard: each version is a row with ``effective_from``
and its own sections and items, so a review keeps the checklist it was scored on. Reviews
carry copies of their interaction's branch, channel, staff member and time (the rollups
and the staff pages read them without touching the partitioned interactions table).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
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
from interactions.models import Interaction, Moment


class Bilingual(models.Model):
    """A text staff read in English or Indonesian (the checklist of a scorecard)."""

    text_en = models.CharField(_("text (English)"), max_length=200)
    text_id = models.CharField(_("text (Indonesian)"), max_length=200, blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """In the active language, English where no Indonesian was given."""
        if translation.get_language() == "id" and self.text_id:
            return self.text_id
        return self.text_en


class Scorecard(Bilingual):
    """One version of a checklist (``code`` names the checklist across its versions)."""

    code = models.SlugField(_("code"), max_length=40)
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=Channel.choices,
        blank=True,
        default="",
        help_text=_("The channel it reviews; blank for any."),
    )
    effective_from = models.DateField(_("effective from"))
    pass_mark = models.FloatField(
        _("pass mark"),
        default=0.8,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("The score (0 to 1) a review needs to pass."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["code", "-effective_from"]
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"], name="scorecard_version"),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0, pass_mark__lte=1), name="scorecard_pass_mark_share"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.effective_from})"


class Section(Bilingual):
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="sections", verbose_name=_("scorecard")
    )
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["scorecard", "position"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "position"], name="section_position")
        ]


class Scale(models.TextChoices):
    YES_NO = "yes_no", _("Yes / no")
    ONE_TO_FIVE = "one_to_five", _("1 to 5")


class Item(Bilingual):
    """One thing the reviewer checks ("confirms the amount"). A failed critical item sets
    the review's score to 0."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="items", verbose_name=_("section")
    )
    # The section's scorecard, kept here so that a code is unique in a version.
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="items", editable=False
    )
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.SlugField(
        _("code"), max_length=40, help_text=_("The same across versions (e.g. confirms-amount).")
    )
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0.01)])
    scale = models.CharField(_("scale"), max_length=16, choices=Scale.choices, default=Scale.YES_NO)
    allow_na = models.BooleanField(_("N/A allowed"), default=False)
    critical = models.BooleanField(_("critical"), default=False)
    moment = models.ForeignKey(
        Moment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moment of truth"),
    )

    class Meta:
        ordering = ["section__position", "position"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            models.UniqueConstraint(fields=["section", "position"], name="item_position"),
            models.UniqueConstraint(fields=["scorecard", "code"], name="item_code_per_version"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="item_weight_positive"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.scorecard_id = self.section.scorecard_id
        super().save(*args, **kwargs)


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


class SamplingRule(models.Model):
    """Draw ``per_agent`` interactions of each agent every week (of one channel, or of any
    the scorecard reviews) and assign them across the reviewers."""

    name = models.CharField(_("name"), max_length=120)
    scorecard_code = models.SlugField(
        _("scorecard"), max_length=40, help_text=_("The checklist's code (every version).")
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, blank=True, default=""
    )
    per_agent = models.PositiveSmallIntegerField(
        _("reviews per agent a week"), default=2, validators=[MinValueValidator(1)]
    )
    due_days = models.PositiveSmallIntegerField(_("days to review"), default=7)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="sampling_rules", verbose_name=_("reviewers")
    )
    branches = models.ManyToManyField(
        Branch,
        blank=True,
        related_name="+",
        verbose_name=_("branches"),
        help_text=_("Blank: every branch."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sampling rule")
        verbose_name_plural = _("sampling rules")

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """An interaction a rule drew for a reviewer to score by ``due_at``."""

    rule = models.ForeignKey(
        SamplingRule, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("rule")
    )
    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
        verbose_name=_("interaction"),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("reviewer"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("agent"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="+", verbose_name=_("branch")
    )
    week = models.DateField(_("week"))
    due_at = models.DateTimeField(_("due"))
    review = models.OneToOneField(
        Review,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignment",
        verbose_name=_("review"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["rule", "interaction"], name="assignment_once")
        ]
        indexes = [
            models.Index(
                fields=["reviewer", "due_at"],
                condition=Q(review__isnull=True),
                name="assignment_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} · interaction {self.interaction_id}"


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


class CoachingNote(models.Model):
    """What a manager discussed with an agent, with the reviews it was about."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="coaching_notes",
        verbose_name=_("agent"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="+", verbose_name=_("branch")
    )
    note = models.TextField(_("note"))
    reviews = models.ManyToManyField(
        Review, blank=True, related_name="coaching_notes", verbose_name=_("reviews")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coaching note")
        verbose_name_plural = _("coaching notes")

    def __str__(self) -> str:
        return f"coaching of {self.agent_id} on {self.created_at:%Y-%m-%d}"
