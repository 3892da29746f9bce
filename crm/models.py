"""Integrations (API keys with scopes and branch limits), the webhook outbox and its
delivery log, and stored responses for Idempotency-Key."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from branches.access import IntegrationPrincipal
from branches.models import Branch
from common.validation import ChoiceListValidator
from crm.webhook_targets import webhook_url_problem


class Scope(models.TextChoices):
    CUSTOMERS_READ = "customers:read", _("Read customers")
    CUSTOMERS_WRITE = "customers:write", _("Create and change customers")
    INTERACTIONS_READ = "interactions:read", _("Read interactions, branches and service cycles")
    INTERACTIONS_WRITE = "interactions:write", _("Record interactions and feedback")
    ANALYTICS_READ = "analytics:read", _("Read consistency metrics and flags")
    STAFF_READ = "staff:read", _("Read quality reviews and staff figures")
    STAFF_WRITE = "staff:write", _("Send quality reviews")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhook subscriptions")
    ADMIN = "admin", _("Audit history, GDPR export and erasure")


class Event(models.TextChoices):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"
    CUSTOMER_ERASED = "customer.erased"
    INTERACTION_CREATED = "interaction.created"
    INTERACTION_UPDATED = "interaction.updated"
    INTERACTION_DELETED = "interaction.deleted"
    FLAG_OPENED = "flag.opened"
    FLAG_UPDATED = "flag.updated"
    CASE_OPENED = "case.opened"
    CASE_UPDATED = "case.updated"
    CASE_RESOLVED = "case.resolved"
    CASE_REOPENED = "case.reopened"
    FEEDBACK_RECEIVED = "feedback.received"


# What an API key's state is called in the admin (its __str__); the API uses the codes.
KEY_STATES = {
    "active": pgettext_lazy("API key", "active"),
    "revoked": pgettext_lazy("API key", "revoked"),
    "expired": pgettext_lazy("API key", "expired"),
}


class Integration(models.Model):
    """Another system that syncs with the CRM through the API."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    scopes = models.JSONField(
        _("scopes"), default=list, validators=[ChoiceListValidator(Scope.values)]
    )
    branches = models.ManyToManyField(
        Branch,
        verbose_name=_("branches"),
        blank=True,
        related_name="+",
        help_text=_("Limit the integration to these branches; leave empty for every branch."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return self.name

    def principal(self) -> IntegrationPrincipal:
        limits = frozenset(branch.pk for branch in self.branches.all())  # prefetched or not
        return IntegrationPrincipal(
            integration_id=self.pk,
            name=self.name,
            scopes=frozenset(self.scopes),
            branch_ids=limits or None,
        )


class ApiKey(models.Model):
    """A key of an integration. Only its SHA-256 is stored; the key is shown once."""

    integration = models.ForeignKey(
        Integration,
        verbose_name=_("integration"),
        on_delete=models.CASCADE,
        related_name="keys",
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("The key stops working then; empty: it never expires."),
    )
    replaced_by = models.OneToOneField(
        "self",
        verbose_name=_("replaced by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.integration} · crm_{self.prefix}_… ({KEY_STATES[self.state]})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """Where an integration hears of changes. Deleting one through the API only marks it
    deleted: its delivery log stays, and a write that read it a moment before still has a
    row to point its delivery at (the delivery is then cancelled, not sent)."""

    # PROTECT: an integration with subscriptions is deactivated, not deleted, so no
    # delivery ever loses the row it points at under a concurrent write.
    integration = models.ForeignKey(
        Integration,
        verbose_name=_("integration"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    # Kept readable to sign every delivery (HMAC-SHA256), but shown to the integration
    # only when it is made or rotated.
    secret = models.CharField(max_length=128, default=new_webhook_secret, editable=False)
    events = models.JSONField(
        _("events"), default=list, validators=[ChoiceListValidator(Event.values)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return f"{self.integration} → {self.url}"

    def clean(self) -> None:
        problem = webhook_url_problem(self.url) if self.url else None
        if problem:
            # The problem is in English for the API; the admin's form shows it translated.
            raise ValidationError({"url": gettext(problem)})


class WebhookEvent(models.Model):
    """The outbox: written in the transaction of the change it announces."""

    event_type = models.CharField(_("event type"), max_length=64)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    DELIVERED = "delivered", pgettext_lazy("delivery", "Delivered")
    FAILED = "failed", _("Failed (gave up)")
    CANCELLED = "cancelled", _("Cancelled (subscription deleted)")


class WebhookDelivery(models.Model):
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        WebhookEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, default=timezone.now
    )
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    # A fixed message of ours, never the receiver's reply: the reply of an internal
    # service would otherwise be read back through the delivery log.
    last_error = models.TextField(_("last error"), blank=True, default="")
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription.url} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="log"
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} → {self.status_code or self.error[:40]}"


class IdempotencyRecord(models.Model):
    """A POST made with an Idempotency-Key, and its stored response once it finished."""

    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveIntegerField(null=True, blank=True)  # null: in flight
    response_body = models.BinaryField(default=b"")
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_age_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'in flight'})"
