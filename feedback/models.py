"""The customer's voice (SPEC §2 feedback): survey rules and invitations, responses from
the survey page or from other systems, and the follow-ups that close the loop."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from common.validation import ChoiceListValidator
from complaints.models import Complaint
from customers.models import Channel, Customer
from interactions.models import Interaction, Outcome

# A detractor (NPS 0-6) or a CSAT of 2 or less asks for a call back.
DETRACTOR_NPS = 6
LOW_CSAT_FOLLOW_UP = 2
# A complaint handling answer of 4 or 5 counts as satisfied (``complaint_handling_satisfied``).
HANDLING_SATISFIED = 4


class SurveyRule(models.Model):
    """Which touchpoints get a survey, when, and how often a customer may be asked.
    The first active rule (by priority) that matches an interaction decides."""

    name = models.CharField(verbose_name=_("name"), max_length=120)
    is_active = models.BooleanField(verbose_name=_("is active"), default=True)
    priority = models.PositiveSmallIntegerField(
        verbose_name=_("priority"), default=100, help_text=_("Lower is tried first.")
    )
    channels = models.JSONField(
        verbose_name=_("channels"),
        default=list, validators=[ChoiceListValidator(Channel.values)],
        help_text=_("Channels that trigger it; empty for all."),
    )  # fmt: skip
    outcomes = models.JSONField(
        verbose_name=_("outcomes"),
        default=list, validators=[ChoiceListValidator(Outcome.values)],
        help_text=_("Outcomes that trigger it; empty for all."),
    )  # fmt: skip
    delay_minutes = models.PositiveIntegerField(
        verbose_name=_("delay minutes"),
        default=60,
        help_text=_("How long after the interaction the invitation goes out."),
    )
    sampling_rate = models.FloatField(
        verbose_name=_("sampling rate"),
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of matching interactions surveyed (0.25 = one in four)."),
    )
    min_days_between = models.PositiveIntegerField(
        verbose_name=_("min days between"),
        default=30,
        help_text=_("At most one invitation per customer in this many days."),
    )
    expiry_days = models.PositiveIntegerField(
        verbose_name=_("expiry days"),
        default=7,
        validators=[MinValueValidator(1)],
        help_text=_("The link works this long."),
    )

    class Meta:
        verbose_name = _("survey rule")
        verbose_name_plural = _("survey rules")
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_rate__gte=0) & Q(sampling_rate__lte=1),
                name="survey_rule_sampling_share",
            ),
            models.CheckConstraint(condition=Q(expiry_days__gte=1), name="survey_rule_expiry"),
        ]

    def __str__(self) -> str:
        return self.name


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent")
    RESPONDED = "responded", _("Answered")


class SurveyInvitation(models.Model):
    """One interaction's survey, or, with ``complaint``, the survey of how a closed
    complaint was handled (one per complaint, beside the interaction's own). Only a hash
    of the link's token is kept: the link itself exists in the customer's e-mail alone."""

    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.CASCADE,
        related_name="survey_invitations",
        verbose_name=_("interaction"),
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
    )
    complaint = models.OneToOneField(
        Complaint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="handling_invitation",
        verbose_name=_("complaint"),
        help_text=_("Set for the survey of how a closed complaint was handled."),
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey(
        SurveyRule, verbose_name=_("rule"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    skip_reason = models.CharField(
        verbose_name=_("skip reason"), max_length=120, blank=True, default=""
    )
    due_at = models.DateTimeField(verbose_name=_("due at"))
    token_hash = models.CharField(
        verbose_name=_("token hash"), max_length=64, unique=True, null=True, blank=True
    )
    language = models.CharField(verbose_name=_("language"), max_length=8, blank=True, default="")
    sent_at = models.DateTimeField(verbose_name=_("sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(verbose_name=_("expires at"), null=True, blank=True)
    responded_at = models.DateTimeField(verbose_name=_("responded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-due_at", "-id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status="pending"),
                name="invitation_due_idx",
            ),
            models.Index(fields=["customer", "sent_at"], name="invitation_customer_idx"),
            models.Index(fields=["branch", "due_at"], name="invitation_branch_idx"),
        ]
        constraints = [
            # One survey of the visit per interaction; a complaint's survey comes beside it.
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(complaint__isnull=True),
                name="invitation_one_per_interaction",
            )
        ]

    def __str__(self) -> str:
        if self.complaint_id:
            return f"survey of the handling of complaint {self.complaint_id}"
        return f"survey of interaction {self.interaction_id}"

    @property
    def is_about_handling(self) -> bool:
        return self.complaint_id is not None


class FeedbackResponse(models.Model):
    """A customer's answer: from the survey page, or collected elsewhere (a kiosk, an IVR,
    a messaging bot) and sent through the API, once per (source, external_id)."""

    interaction = models.ForeignKey(
        Interaction,
        on_delete=models.CASCADE,
        related_name="feedback_responses",
        verbose_name=_("interaction"),
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
    )
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="+"
    )
    invitation = models.OneToOneField(
        SurveyInvitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
        verbose_name=_("invitation"),
    )
    source = models.CharField(verbose_name=_("source"), max_length=64, default="survey")
    external_id = models.CharField(
        verbose_name=_("external id"), max_length=128, blank=True, default=""
    )
    nps = models.PositiveSmallIntegerField(
        verbose_name=_("nps"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    csat = models.PositiveSmallIntegerField(
        verbose_name=_("csat"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = models.TextField(verbose_name=_("comment"), blank=True, default="")
    # The customer's word on how their complaint was handled (asked once it is closed).
    handling = models.PositiveSmallIntegerField(
        verbose_name=_("complaint handling"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("How well the complaint was handled: 1 (very badly) to 5 (very well)."),
    )
    handling_comment = models.TextField(
        verbose_name=_("what we could do better"), blank=True, default=""
    )
    received_at = models.DateTimeField(verbose_name=_("received at"))

    class Meta:
        verbose_name = _("feedback response")
        verbose_name_plural = _("feedback responses")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="feedback_unique_external_ref",
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__lte=10), name="feedback_nps_0_10"
            ),
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5),
                name="feedback_csat_1_5",
            ),
            models.CheckConstraint(
                condition=Q(handling__isnull=True) | Q(handling__gte=1, handling__lte=5),
                name="feedback_handling_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"feedback on interaction {self.interaction_id}"

    def clean(self) -> None:
        if (
            self.nps is None
            and self.csat is None
            and self.handling is None
            and not self.comment.strip()
            and not self.handling_comment.strip()
        ):
            raise ValidationError(_("Give an NPS, CSAT or complaint handling score, or a comment."))

    @property
    def needs_follow_up(self) -> bool:
        return (self.nps is not None and self.nps <= DETRACTOR_NPS) or (
            self.csat is not None and self.csat <= LOW_CSAT_FOLLOW_UP
        )


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    CLOSED = "closed", _("Closed")


class FollowUp(models.Model):
    """Call back an unhappy customer: one per interaction, due 48 hours after the answer."""

    interaction = models.OneToOneField(
        Interaction,
        on_delete=models.CASCADE,
        related_name="follow_up",
        verbose_name=_("interaction"),
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
    )
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    response = models.ForeignKey(
        FeedbackResponse, verbose_name=_("response"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(verbose_name=_("reason"), max_length=120)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=FollowUpStatus.choices,
        default=FollowUpStatus.OPEN,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    due_at = models.DateTimeField(verbose_name=_("due at"))
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow up")
        verbose_name_plural = _("follow ups")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["branch", "status", "due_at"], name="follow_up_queue_idx")]

    def __str__(self) -> str:
        return f"follow-up of interaction {self.interaction_id}"


class FollowUpNote(models.Model):
    follow_up = models.ForeignKey(
        FollowUp, verbose_name=_("follow up"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    action = models.CharField(verbose_name=_("action"), max_length=16, default="note")
    text = models.TextField(verbose_name=_("text"), blank=True, default="")
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        verbose_name = _("follow up note")
        verbose_name_plural = _("follow up notes")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"
