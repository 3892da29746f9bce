"""Admin behaviour shared by soft-deletable models."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Live"), ("yes", "Deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class SoftDeleteAdminMixin:
    """Deleting in the admin marks rows deleted instead of removing them."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        obj.deleted_at = timezone.now()
        obj.save(update_fields=["deleted_at"])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.filter(deleted_at__isnull=True).update(
            deleted_at=timezone.now(), updated_at=timezone.now()
        )
