from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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
from common.validation import EARLIEST_YEAR
from customers.models import Channel, Customer

# Clocks at the counter and in integrations drift a little; beyond this, a future time is a typo.
FUTURE_TOLERANCE = timedelta(minutes=5)


class ServiceCycle(models.Model):
    """A customer's path through one service (e.g. "cash a cheque"), made of moments."""

    code = models.SlugField(verbose_name=_("code"), max_length=64, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=120)
    description = models.TextField(verbose_name=_("description"), blank=True, default="")

    class Meta:
        verbose_name = _("service cycle")
        verbose_name_plural = _("service cycles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Moment(models.Model):
    """A moment of truth inside a service cycle; critical ones weigh most in the flag queue."""

    cycle = models.ForeignKey(
        ServiceCycle, verbose_name=_("cycle"), on_delete=models.CASCADE, related_name="moments"
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    name = models.CharField(verbose_name=_("name"), max_length=120)
    is_critical = models.BooleanField(verbose_name=_("is critical"), default=False)

    class Meta:
        verbose_name = _("moment")
        verbose_name_plural = _("moments")
        ordering = ["cycle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "position"], name="moment_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.name}: {self.position}. {self.name}"


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    FOLLOW_UP = "follow_up", _("Follow-up needed")
    ESCALATED = "escalated", _("Escalated")
    ABANDONED = "abandoned", _("Abandoned")


class Interaction(TimeStampedModel, SoftDeleteModel, ExternalRefModel):
    """One customer touchpoint at one branch, with the timings that make service measurable."""

    # branch and customer need no index of their own: (branch, occurred_at) and
    # (customer, occurred_at) below serve them, and every index slows every insert.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        help_text=_("Empty for an anonymous walk-in."),
        db_index=False,
    )
    branch = models.ForeignKey(
        Branch,
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    channel = models.CharField(verbose_name=_("channel"), max_length=16, choices=Channel.choices)
    direction = models.CharField(
        verbose_name=_("direction"),
        max_length=16,
        choices=Direction.choices,
        default=Direction.INBOUND,
    )
    occurred_at = models.DateTimeField(
        verbose_name=_("occurred at"),
        help_text=_("When the contact started: arrival, ring, e-mail received, chat opened."),
    )
    wait_seconds = models.PositiveIntegerField(
        verbose_name=_("wait seconds"),
        null=True,
        blank=True,
        help_text=_("Time to the first human response (or until abandon for abandoned contacts)."),
    )
    handle_seconds = models.PositiveIntegerField(
        verbose_name=_("handle seconds"), null=True, blank=True
    )
    outcome = models.CharField(verbose_name=_("outcome"), max_length=16, choices=Outcome.choices)
    topic = models.CharField(verbose_name=_("topic"), max_length=120, blank=True, default="")
    is_complaint = models.BooleanField(verbose_name=_("is complaint"), default=False)
    notes = models.TextField(verbose_name=_("notes"), blank=True, default="")
    moment = models.ForeignKey(
        Moment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("moment"),
    )
    csat = models.PositiveSmallIntegerField(
        verbose_name=_("csat"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    nps = models.PositiveSmallIntegerField(
        verbose_name=_("nps"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10)],
    )
    feedback_comment = models.TextField(verbose_name=_("feedback comment"), blank=True, default="")
    feedback_at = models.DateTimeField(verbose_name=_("feedback at"), null=True, blank=True)
    # A record's history is read by its id: the history table needs no index of the
    # record's relations, and each one would slow every write.
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        bases=[AuditStamp],
        no_db_index=["branch", "customer", "moment", "staff"],
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            *external_ref_constraints("interaction"),
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5),
                name="interaction_csat_1_5",
                violation_error_message="CSAT must be between 1 and 5.",
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__gte=0, nps__lte=10),
                name="interaction_nps_0_10",
                violation_error_message="NPS must be between 0 and 10.",
            ),
            models.CheckConstraint(
                condition=Q(wait_seconds__isnull=True) | Q(wait_seconds__gte=0),
                name="interaction_wait_non_negative",
                violation_error_message="Wait time cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(handle_seconds__isnull=True) | Q(handle_seconds__gte=0),
                name="interaction_handle_non_negative",
                violation_error_message="Handling time cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values),
                name="interaction_channel_known",
                violation_error_message="Unknown channel.",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values),
                name="interaction_outcome_known",
                violation_error_message="Unknown outcome.",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values),
                name="interaction_direction_known",
                violation_error_message="Unknown direction.",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "occurred_at"], name="interaction_branch_time_idx"),
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["updated_at", "id"], name="interaction_sync_idx"),
        ]

    _origin: tuple[int | None, Any] | None = None

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Interaction:
        instance = super().from_db(db, field_names, values)
        # Where the row was when read: an edit that moves it to another branch or day
        # makes the old place's statistics stale too.
        instance._origin = (
            instance.__dict__.get("branch_id"),
            instance.__dict__.get("occurred_at"),
        )
        return instance

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} at {self.branch.code}, {self.occurred_at:%Y-%m-%d %H:%M}"
        )

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.occurred_at and self.occurred_at > timezone.now() + FUTURE_TOLERANCE:
            errors["occurred_at"] = "An interaction cannot start in the future."
        elif self.occurred_at and self.occurred_at.year < EARLIEST_YEAR:
            errors["occurred_at"] = f"Use a time from {EARLIEST_YEAR} on."
        if self.customer_id is not None and self.customer is not None and self.customer.is_deleted:
            errors["customer"] = "This customer has been deleted."
        if self.outcome == Outcome.ABANDONED and self.handle_seconds:
            errors["handle_seconds"] = "An abandoned contact has no handling time."
        if self.outcome == Outcome.ABANDONED and self.channel == Channel.EMAIL:
            errors["outcome"] = "An e-mail cannot be abandoned."
        if errors:
            raise ValidationError(errors)


class InteractionRef(models.Model):
    """Which interaction an integration's (source, external_id) names, unique across the
    whole table. On PostgreSQL the interactions table is partitioned by month and cannot
    hold that unique index itself, so a trigger keeps this table in step with it and a
    second interaction with the same reference fails to insert (see
    ``interactions.partitions``). On SQLite the table's own unique index does the job and
    this one stays empty."""

    pk = models.CompositePrimaryKey("source", "external_id")
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    interaction_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("interaction reference")
        verbose_name_plural = _("interaction references")

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} -> {self.interaction_id}"


class CheckIn(models.Model):
    """A walk-in waiting at the counter. "Arrived" starts the clock, "greeted" stops the
    wait, "done" stops the handling time; finishing (or the customer walking out)
    records the interaction with the measured timings."""

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="check_ins"
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="check_ins",
        verbose_name=_("customer"),
    )
    label = models.CharField(
        verbose_name=_("label"),
        max_length=120,
        blank=True,
        default="",
        help_text=_("Ticket number or a short description."),
    )
    topic = models.CharField(verbose_name=_("topic"), max_length=120, blank=True, default="")
    arrived_at = models.DateTimeField(verbose_name=_("arrived at"))
    greeted_at = models.DateTimeField(verbose_name=_("greeted at"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who greeted the customer."),
    )
    interaction = models.OneToOneField(
        Interaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="check_in",
        verbose_name=_("interaction"),
        db_constraint=False,  # the table is partitioned (interactions.partitions)
    )

    class Meta:
        verbose_name = _("check in")
        verbose_name_plural = _("check ins")
        ordering = ["arrived_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(greeted_at__isnull=True) | Q(greeted_at__gte=models.F("arrived_at")),
                name="checkin_greeted_after_arrival",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("arrived_at")),
                name="checkin_finished_after_arrival",
            ),
        ]
        indexes = [
            models.Index(
                fields=["branch", "arrived_at"],
                condition=Q(finished_at__isnull=True),
                name="checkin_waiting_idx",
            )
        ]

    def __str__(self) -> str:
        return self.label or (self.customer.name if self.customer else f"walk-in {self.pk}")

    @property
    def is_waiting(self) -> bool:
        return self.greeted_at is None and self.finished_at is None
