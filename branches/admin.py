from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from branches.access import branch_scope
from branches.models import Branch, Region, User
from branches.services import branch_save


class BranchScopedListFilter(admin.SimpleListFilter):
    """A branch filter that lists only the branches the viewer may see."""

    title = _("branch")
    parameter_name = "branch"
    field = "branch"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(b.pk), str(b)) for b in branch_scope(request.user).branches()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(**{f"{self.field}_id": self.value()})
        return queryset


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Region]:
        scope = branch_scope(request.user)
        regions = super().get_queryset(request)
        if scope.everything:
            return regions
        return regions.filter(branches__in=scope.branch_ids).distinct()


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "timezone", "is_active"]
    list_filter = ["region", "is_active"]
    search_fields = ["code", "name"]
    list_select_related = ["region"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Branch]:
        return branch_scope(request.user).filter(super().get_queryset(request), field="pk")

    def save_model(self, request: HttpRequest, obj: Branch, form: Any, change: bool) -> None:
        # Through the service, so a change of time zone re-dates the branch's rollups.
        current = Branch.objects.get(pk=obj.pk) if change else None
        fields = form.changed_data if change else list(form.cleaned_data)
        data = {name: form.cleaned_data[name] for name in fields}
        obj.pk = branch_save(actor=request.user, branch=current, data=data).pk


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "regions", "branches"]
    filter_horizontal = ["branches", "regions", "groups", "user_permissions"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Role and reach"), {"fields": ("role", "branches", "regions")}),
        (_("Preferences"), {"fields": ("language",)}),
    )

    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Role and reach"), {"fields": ("role", "branches", "regions")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # HQ admins manage staff; only superusers may hand out superuser or raw permissions.
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("is_superuser", "user_permissions", "groups")


class BranchScopedReadOnlyAdmin(admin.ModelAdmin):
    """Rows other code writes (a queue, a survey, a task): read here, within reach."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return branch_scope(request.user).filter(super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
