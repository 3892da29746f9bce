from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from branches.access import branch_scope
from branches.admin import BranchScopedListFilter, BranchScopedReadOnlyAdmin
from common.admin import AuditHistoryAdminMixin, DeletedFilter, SoftDeleteAdminMixin
from interactions.models import CheckIn, Interaction, Moment, ServiceCycle


class MomentInline(admin.TabularInline):
    model = Moment
    extra = 1


@admin.register(ServiceCycle)
class ServiceCycleAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [MomentInline]


@admin.register(Moment)
class MomentAdmin(admin.ModelAdmin):
    list_display = ["cycle", "position", "name", "is_critical"]
    list_filter = ["cycle", "is_critical"]
    search_fields = ["name", "cycle__name"]


@admin.register(Interaction)
class InteractionAdmin(AuditHistoryAdminMixin, SoftDeleteAdminMixin, admin.ModelAdmin):
    """Scoped to the viewer's branches; edits only where they may write."""

    list_display = [
        "occurred_at",
        "branch",
        "channel",
        "customer",
        "outcome",
        "wait_seconds",
        "is_complaint",
        "csat",
        "nps",
    ]
    list_filter = [
        DeletedFilter,
        BranchScopedListFilter,
        "channel",
        "outcome",
        "is_complaint",
        "direction",
        "occurred_at",
    ]
    search_fields = ["customer__name", "customer__email", "topic", "external_id"]
    list_select_related = ["branch", "customer"]
    raw_id_fields = ["customer", "staff"]
    readonly_fields = ["created_at", "updated_at", "deleted_at"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Interaction]:
        return branch_scope(request.user).filter(super().get_queryset(request))

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "branch":
            kwargs["queryset"] = branch_scope(request.user, for_write=True).branches()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return branch_scope(request.user, for_write=True).allows(obj.branch_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return branch_scope(request.user, for_write=True).allows(obj.branch_id)


@admin.register(CheckIn)
class CheckInAdmin(BranchScopedReadOnlyAdmin):
    """The walk-in queue's record, read only: the queue page and its services write it."""

    list_display = ["arrived_at", "branch", "label", "customer", "greeted_at", "finished_at"]
    list_filter = [BranchScopedListFilter, "arrived_at"]
    search_fields = ["label", "customer__name", "topic"]
    list_select_related = ["branch", "customer"]
    date_hierarchy = "arrived_at"
