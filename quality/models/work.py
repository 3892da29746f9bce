"""The reviewers' and managers' work: sampling rules and their assignments, coaching notes."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from customers.models import Channel
from interactions.models import Interaction
from quality.models.reviews import Review


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
