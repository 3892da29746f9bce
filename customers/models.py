from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
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

# The languages customers are written to in (surveys); the staff UI is in English.
LANGUAGES = [("en", "English"), ("id", "Bahasa Indonesia")]


class Channel(models.TextChoices):
    """How a customer reaches the chain; shared by customers and interactions."""

    IN_PERSON = "in_person", _("Face to face")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")


def validate_tags(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise ValidationError(_("Tags must be a list of non-empty strings."))
    if any(len(t) > 50 for t in value):
        raise ValidationError(_("A tag is at most 50 characters."))


def validate_phone(value: str) -> None:
    if value and not re.fullmatch(r"\+?[0-9]{6,20}", normalise_phone(value)):
        raise ValidationError(
            _("Enter a phone number of 6 to 20 digits, optionally starting with +.")
        )


def normalise_phone(value: str) -> str:
    """Keep a leading + and the digits: "+44 (20) 7946-0000" -> "+442079460000"."""
    return re.sub(r"[\s().\-/]", "", value.strip())


class Customer(TimeStampedModel, SoftDeleteModel, ExternalRefModel):
    """One record for the whole chain: a customer visits many branches."""

    name = models.CharField(verbose_name=_("name"), max_length=200)
    email = models.EmailField(verbose_name=_("email"), blank=True, default="")
    phone = models.CharField(
        verbose_name=_("phone"), max_length=32, blank=True, default="", validators=[validate_phone]
    )
    preferred_channel = models.CharField(
        verbose_name=_("preferred channel"),
        max_length=16,
        choices=Channel.choices,
        blank=True,
        default="",
    )
    home_branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="home_customers",
        verbose_name=_("home branch"),
    )
    consent_marketing = models.BooleanField(verbose_name=_("consent marketing"), default=False)
    consent_surveys = models.BooleanField(verbose_name=_("consent surveys"), default=False)
    language = models.CharField(
        verbose_name=_("language"),
        max_length=8,
        choices=LANGUAGES,
        blank=True,
        default="",
        db_default="",  # rows loaded in bulk (the demo, COPY) name only the columns they set
        help_text=_("For surveys; empty: the language of the customer's browser."),
    )
    tags = models.JSONField(
        verbose_name=_("tags"), default=list, blank=True, validators=[validate_tags]
    )
    erased_at = models.DateTimeField(
        verbose_name=_("erased at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Personal data erased (GDPR) then."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True, default="")
    # Who changed what, when and from where (common.audit), shown on the customer's page.
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[AuditStamp])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        constraints = external_ref_constraints("customer")
        indexes = [
            models.Index(fields=["updated_at", "id"], name="customer_sync_idx"),
            models.Index(fields=["email"], name="customer_email_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["name"], name="customer_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.name = self.name.strip()
        self.email = self.email.strip().lower()
        self.phone = normalise_phone(self.phone)
