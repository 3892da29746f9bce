"""Back office of complaints: HQ keeps the taxonomy (areas and types; a type is retired and
replaced, never rewritten) and the handling policy; complaints are read within reach, with
every step of their handling."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from branches.admin import BranchScopedListFilter, BranchScopedReadOnlyAdmin
from complaints.models import Area, Complaint, ComplaintEvent, ComplaintType, HandlingPolicy


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_id", "position"]


@admin.register(ComplaintType)
class ComplaintTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_id", "area", "moment", "retired_at"]
    list_filter = ["area", "retired_at"]
    list_select_related = ["area", "moment"]


@admin.register(HandlingPolicy)
class HandlingPolicyAdmin(admin.ModelAdmin):
    list_display = ["severity", "acknowledge_days", "respond_days"]


class ComplaintEventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "action", "from_status", "to_status", "note"]
    readonly_fields = ["at", "actor", "action", "from_status", "to_status", "note"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Complaint)
class ComplaintAdmin(BranchScopedReadOnlyAdmin):
    list_display = [
        "reference", "received_at", "branch", "type", "severity", "status", "respond_due",
    ]  # fmt: skip
    list_filter = [BranchScopedListFilter, "status", "severity"]
    list_select_related = ["branch", "type"]
    inlines = [ComplaintEventInline]
