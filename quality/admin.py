"""Back office of call monitoring: HQ edits scorecards (a version with its sections and
items), sampling rules and calibration sessions; reviews, assignments, disputes and
coaching notes are written by the pages and the API and read here within reach."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from branches.access import branch_scope
from branches.admin import BranchScopedListFilter, BranchScopedReadOnlyAdmin
from quality.models import (
    Assignment,
    CalibrationSession,
    CoachingNote,
    Dispute,
    Item,
    Review,
    SamplingRule,
    Scorecard,
    Section,
)


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0
    fields = ["position", "text_en", "text_id"]


class ItemInline(admin.TabularInline):
    """Items of the version, each in one of its sections."""

    model = Item
    fk_name = "scorecard"
    extra = 0
    fields = [
        "section", "position", "code", "text_en", "text_id", "weight", "scale",
        "allow_na", "critical", "moment",
    ]  # fmt: skip

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "section":
            match = request.resolver_match
            version = match.kwargs.get("object_id") if match else None
            kwargs["queryset"] = Section.objects.filter(scorecard_id=version or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    """A version of a checklist: save its sections first, then give each item a section."""

    list_display = ["code", "text_en", "channel", "effective_from", "pass_mark", "is_active"]
    list_filter = ["code", "channel", "is_active"]
    inlines = [SectionInline, ItemInline]


@admin.register(SamplingRule)
class SamplingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "scorecard_code", "channel", "per_agent", "due_days", "is_active"]
    filter_horizontal = ["reviewers", "branches"]


@admin.register(CalibrationSession)
class CalibrationSessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scorecard", "reference_reviewer", "created_at", "closed_at"]
    raw_id_fields = ["interaction"]
    filter_horizontal = ["reviewers"]


@admin.register(Review)
class ReviewAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["occurred_at", "branch", "channel", "agent", "reviewer", "score", "passed"]
    list_filter = [BranchScopedListFilter, "kind", "passed", "critical_fail", "disputed"]
    list_select_related = ["branch", "agent", "reviewer"]


@admin.register(Assignment)
class AssignmentAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["due_at", "branch", "agent", "reviewer", "rule", "review"]
    list_filter = [BranchScopedListFilter, "rule"]
    list_select_related = ["branch", "agent", "reviewer", "rule"]


@admin.register(Dispute)
class DisputeAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["created_at", "review", "status", "raised_by", "decided_by"]
    list_filter = ["status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = admin.ModelAdmin.get_queryset(self, request)
        return branch_scope(request.user).filter(rows, field="review__branch")


@admin.register(CoachingNote)
class CoachingNoteAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["created_at", "branch", "agent", "author"]
    list_filter = [BranchScopedListFilter]
    list_select_related = ["branch", "agent", "author"]
