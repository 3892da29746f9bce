"""Back office for the engine: the standard is edited here; rollups, flags and the index
are derived data, read-only, and flags are worked through the lifecycle services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from branches.access import branch_scope
from branches.admin import BranchScopedListFilter
from common.admin import AuditHistoryAdminMixin
from consistency.admin_forms import TargetForm
from consistency.models import ConsistencyIndex, DirtyDay, Flag, FlagEvent, Rollup, Standard, Target


class TargetInline(admin.TabularInline):
    model = Target
    form = TargetForm
    extra = 0


@admin.register(Standard)
class StandardAdmin(AuditHistoryAdminMixin, admin.ModelAdmin):
    list_display = ["name", "effective_from"]
    search_fields = ["name"]
    inlines = [TargetInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Derived rows: shown, never typed in."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BranchScopedReadOnlyAdmin(ReadOnlyAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return branch_scope(request.user).filter(super().get_queryset(request))


class FlagEventInline(admin.TabularInline):
    model = FlagEvent
    extra = 0
    readonly_fields = [
        "at",
        "actor",
        "action",
        "from_status",
        "to_status",
        "note",
        "changed_via",
        "changed_by_integration",
        "changed_from",
    ]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Flag)
class FlagAdmin(BranchScopedReadOnlyAdmin):
    list_display = [
        "branch", "metric", "channel", "period_start", "test", "severity", "status", "value", "n",
    ]  # fmt: skip
    list_filter = [BranchScopedListFilter, "status", "severity", "test", "metric", "channel"]
    search_fields = ["branch__code", "branch__name"]
    date_hierarchy = "period_start"
    list_select_related = ["branch"]
    inlines = [FlagEventInline]


@admin.register(Rollup)
class RollupAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["branch", "kind", "period_start", "channel", "contacts", "complaints"]
    list_filter = [BranchScopedListFilter, "kind", "channel"]
    search_fields = ["branch__code"]
    list_select_related = ["branch"]


@admin.register(DirtyDay)
class DirtyDayAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["branch", "day", "marked_at"]


@admin.register(ConsistencyIndex)
class ConsistencyIndexAdmin(ReadOnlyAdmin):
    list_display = ["kind", "period_start", "inside", "cells", "share_inside"]
    list_filter = ["kind"]

    @admin.display(description=_("share inside"))
    def share_inside(self, obj: ConsistencyIndex) -> str:
        value = obj.value
        return "\u2013" if value is None else f"{formats.number_format(value * 100, 1)} %"
