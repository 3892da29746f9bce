from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from crm.models import ApiKey, Integration, WebhookAttempt, WebhookDelivery, WebhookSubscription
from crm.services import api_key_create, api_key_revoke
from crm.webhooks import webhook_delivery_redeliver


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
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

    @admin.action(description="Create a new API key (shown once)")
    def create_key(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            _, key = api_key_create(integration=integration)
            self.message_user(
                request,
                f"New key for {integration}: {key} — copy it now, it is not stored and "
                "will not be shown again.",
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "integration", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["integration"]
    readonly_fields = ["integration", "prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["integration", "url", "events", "is_active"]
    list_filter = ["is_active", "integration"]
    search_fields = ["url"]


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

    @admin.action(description="Deliver again now")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            webhook_delivery_redeliver(delivery=delivery)
        self.message_user(request, f"Queued {queryset.count()} delivery(ies) again.")
