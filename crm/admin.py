from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.models import (
    KEY_STATES,
    ApiKey,
    Integration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from crm.privacy import customer_erase, customer_export, may_handle_personal_data
from crm.services import api_key_create, api_key_revoke, api_key_rotate
from crm.webhooks import webhook_delivery_redeliver, webhook_subscription_delete
from customers.admin import CustomerAdmin
from customers.models import Customer


def refusal(exc: ValidationError | PermissionDenied) -> str:
    """A service's refusal in the admin's language. Services word them in English, as the
    API speaks, and mark them for translation (gettext_noop)."""
    if isinstance(exc, PermissionDenied):
        return gettext(str(exc))
    texts = []
    for error in exc.error_list:
        text = gettext(str(error.message))
        texts.append(text % error.params if error.params else text)
    return " ".join(texts)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are made by the "Create a new API key" action: shown once


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "scopes", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["branches"]
    inlines = [ApiKeyInline]
    actions = ["create_key"]

    @admin.action(description=_("Create a new API key (shown once)"))
    def create_key(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            __, key = api_key_create(integration=integration)
            self.message_user(
                request,
                gettext(
                    "New key for %(integration)s: %(key)s — copy it now, it is not stored "
                    "and will not be shown again."
                )
                % {"integration": integration, "key": key},
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "integration",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["integration"]
    readonly_fields = [
        "integration",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "replaced_by",
    ]
    exclude = ["hashed_key"]
    actions = ["rotate", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(
        description=_("Rotate: a new key now, the old one expires after the grace period")
    )
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.select_related("integration"):
            try:
                __, key = api_key_rotate(api_key=api_key)
            except ValidationError:
                api_key.refresh_from_db()
                self.message_user(
                    request,
                    gettext("%(key)s: this key is %(state)s or already rotated: create a new one.")
                    % {"key": api_key, "state": KEY_STATES[api_key.state]},
                    messages.ERROR,
                )
                continue
            hours = settings.API_KEY_ROTATION_GRACE_HOURS
            self.message_user(
                request,
                ngettext(
                    "New key for %(integration)s: %(key)s — copy it now, it is not stored. "
                    "The old key %(old)s keeps working for %(hours)d hour.",
                    "New key for %(integration)s: %(key)s — copy it now, it is not stored. "
                    "The old key %(old)s keeps working for %(hours)d hours.",
                    hours,
                )
                % {
                    "integration": api_key.integration,
                    "key": key,
                    "old": f"crm_{api_key.prefix}_…",
                    "hours": hours,
                },
                messages.WARNING,
            )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Revoked %(count)d key.", "Revoked %(count)d keys.", count) % {"count": count},
        )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """The signing secret is never shown here; a subscription is stopped, not deleted, so
    its delivery log stays."""

    list_display = ["integration", "url", "events", "is_active", "deleted_at"]
    list_filter = ["is_active", "integration"]
    search_fields = ["url"]
    readonly_fields = ["created_at", "deleted_at"]
    actions = ["stop"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Stop the selected subscriptions (keep their delivery log)"))
    def stop(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            webhook_subscription_delete(subscription=subscription)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("Stopped %(count)d subscription.", "Stopped %(count)d subscriptions.", count)
            % {"count": count},
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "status_code", "error", "duration_ms"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "subscription__integration"]
    readonly_fields = [
        "subscription",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]
    list_select_related = ["event", "subscription"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Deliver again now"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued = 0
        for delivery in queryset:
            try:
                webhook_delivery_redeliver(delivery=delivery)
                queued += 1
            except ValidationError as error:
                self.message_user(request, f"{delivery}: {refusal(error)}", messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "Queued %(count)d delivery again.", "Queued %(count)d deliveries again.", queued
            )
            % {"count": queued},
        )


class PrivacyCustomerAdmin(CustomerAdmin):
    """The customer admin with the GDPR actions (they live here, in the layer that sees
    every app holding customer data)."""

    actions = ["export_gdpr", "erase_gdpr"]

    def has_privacy_permission(self, request: HttpRequest) -> bool:
        return may_handle_personal_data(request.user)

    @admin.action(
        description=_("Export the selected customer's data (GDPR, JSON)"),
        permissions=["privacy"],
    )
    def export_gdpr(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, gettext("Export one customer at a time."), messages.ERROR)
            return None
        customer = queryset.get()
        try:
            data = customer_export(actor=request.user, customer=customer)
        except PermissionDenied as exc:
            self.message_user(request, refusal(exc), messages.ERROR)
            return None
        response = JsonResponse(data, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    @admin.action(
        description=_("Erase the selected customers' personal data (GDPR)"),
        permissions=["privacy"],
    )
    def erase_gdpr(self, request: HttpRequest, queryset: QuerySet[Customer]) -> Any:
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/customers/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Erase personal data?"),
                    "customers": queryset,
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        erased = 0
        for customer in queryset:
            try:
                customer_erase(actor=request.user, customer=customer)
                erased += 1
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{customer}: {refusal(exc)}", messages.ERROR)
        if erased:
            self.message_user(
                request,
                ngettext("Erased %(count)d customer.", "Erased %(count)d customers.", erased)
                % {"count": erased},
            )
        return None


admin.site.unregister(Customer)
admin.site.register(Customer, PrivacyCustomerAdmin)
