"""Complaints by type (SPEC §10), handled as ISO 10002 asks: recorded with a unique
reference, acknowledged, investigated, responded to and closed, each step kept.

A separate app above ``interactions`` (a complaint is about one interaction) and below
``consistency`` (which will count complaints by type): the taxonomy, the handling policy and
the lifecycle are their own subject, and the interactions app stays the counter's.

The taxonomy is versioned by never changing a type's meaning: a type is retired and a new
one made (``replaces``) when the chain renames or splits it, so an old complaint keeps the
type it was given.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from common.audit import AuditStamp
from common.models import ExternalRefModel, TimeStampedModel, external_ref_constraints
from interactions.models import Interaction, Moment


class Named(models.Model):
    """A name staff read in English or Indonesian."""

    name_en = models.CharField(_("name (English)"), max_length=120)
    name_id = models.CharField(_("name (Indonesian)"), max_length=120, blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """In the active language, English where no Indonesian was given."""
        if translation.get_language() == "id" and self.name_id:
            return self.name_id
        return self.name_en


class Area(Named):
    """What customers complain about, broadly: "Waiting", "Cash"."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("complaint area")
        verbose_name_plural = _("complaint areas")


class ComplaintType(Named):
    """One type of an area ("Queue too long"). Retired, never rewritten: a renamed or
    split type is a new row that ``replaces`` it, so old complaints keep theirs."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="types", verbose_name=_("area")
    )
    code = models.SlugField(_("code"), max_length=60)
    moment = models.ForeignKey(
        Moment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moment of truth"),
    )
    replaces = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["area__position", "code"]
        verbose_name = _("complaint type")
        verbose_name_plural = _("complaint types")
        constraints = [
            # One live type per code; retired ones keep theirs for the complaints they named.
            models.UniqueConstraint(
                fields=["code"], condition=Q(retired_at__isnull=True), name="complaint_type_live"
            )
        ]


def newest_types() -> dict[str, ComplaintType]:
    """Each type code's newest type, with its area: the live one, else the one retired
    last. What a count by code (which merges a type and its successors) is named by."""
    rows = ComplaintType.objects.select_related("area").order_by(
        models.F("retired_at").desc(nulls_first=True), "-pk"
    )
    named: dict[str, ComplaintType] = {}
    for kind in rows:
        named.setdefault(kind.code, kind)
    return named


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class HandlingPolicy(models.Model):
    """How fast a complaint of a severity is acknowledged and responded to, in working days
    on the branch's calendar."""

    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, unique=True)
    acknowledge_days = models.PositiveSmallIntegerField(_("acknowledge within (working days)"))
    respond_days = models.PositiveSmallIntegerField(_("respond within (working days)"))

    class Meta:
        ordering = ["respond_days"]
        verbose_name = _("handling policy")
        verbose_name_plural = _("handling policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(respond_days__gte=models.F("acknowledge_days")),
                name="policy_respond_after_acknowledge",
                violation_error_message=_("The response cannot be due before the acknowledgement."),
            )
        ]

    def __str__(self) -> str:
        return self.get_severity_display()


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    RESPONDED = "responded", _("Responded")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [Status.RECEIVED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.RESPONDED]


class Complaint(TimeStampedModel, ExternalRefModel):
    """One complaint, about one interaction, with its reference, type and handling."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    interaction = models.OneToOneField(
        Interaction,
        on_delete=models.PROTECT,
        related_name="complaint",
        db_constraint=False,  # interactions are partitioned (interactions.partitions)
        verbose_name=_("interaction"),
    )
    # Copies of the interaction's, for the queues and the counts.
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    received_at = models.DateTimeField(_("received at"))
    type = models.ForeignKey(
        ComplaintType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("type"),
    )
    severity = models.CharField(
        _("severity"), max_length=16, choices=Severity.choices, default=Severity.MEDIUM
    )
    text = models.TextField(_("what the customer said"), blank=True, default="")
    remedy = models.TextField(_("remedy the customer asks for"), blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints_owned",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    acknowledge_due = models.DateTimeField(_("acknowledgement due"))
    respond_due = models.DateTimeField(_("response due"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    response = models.TextField(_("response"), blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [*external_ref_constraints("complaint")]
        indexes = [
            models.Index(fields=["branch", "received_at"], name="complaint_branch_time_idx"),
            models.Index(fields=["status", "respond_due"], name="complaint_due_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


class ComplaintEvent(AuditStamp):
    """Every step of a complaint's handling: who, when, from which status to which, and the
    note."""

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="events", verbose_name=_("complaint")
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
    from_status = models.CharField(_("from"), max_length=16, blank=True, default="")
    to_status = models.CharField(_("to"), max_length=16)
    note = models.TextField(_("note"), blank=True, default="")
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M}"


class ClassifierVersion(models.Model):
    """One training of the complaint-type classifier (``complaints.classifier``): what it
    learnt from, how well it did on the complaints it was not shown, and the model itself.
    The newest is the one that suggests; older ones stay as the record of how it improved."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    trained_at = models.DateTimeField(_("trained at"), default=timezone.now)
    labels = models.PositiveIntegerField(_("labelled complaints"))
    held_out = models.PositiveIntegerField(_("held out for measuring"))
    types = models.JSONField(_("type codes"), default=list)
    left_out = models.JSONField(_("types left out (too few labels)"), default=dict, blank=True)
    top1 = models.FloatField(_("top-1 accuracy"))
    top3 = models.FloatField(_("top-3 accuracy"))
    baseline = models.FloatField(_("commonest type's accuracy"))
    train_seconds = models.FloatField(_("training time (s)"))
    # The fitted scikit-learn pipeline as joblib wrote it: our own bytes, written by our own
    # trainer and read back only by it; never anything a user sent (unpickling runs code).
    model = models.BinaryField(_("model"))

    class Meta:
        ordering = ["-version"]
        verbose_name = _("complaint classifier version")
        verbose_name_plural = _("complaint classifier versions")

    def __str__(self) -> str:
        return f"v{self.version}"
