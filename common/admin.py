"""Admin behaviour shared by soft-deletable models."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.audit import history_entries

HISTORY_LIMIT = 200


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("no", pgettext_lazy("record", "Live")),
            ("yes", pgettext_lazy("record", "Deleted")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class AuditHistoryAdminMixin:
    """The admin's "History" page shows the record's audit history (common.audit): who,
    when, from where and which fields, before and after. The object is looked up through
    the admin's own queryset, so the page has the same reach as the change page."""

    object_history_template: Any = "admin/audit_history.html"

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> Any:
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        entries = history_entries(obj.history.all(), limit=HISTORY_LIMIT) if obj else []
        context = {"audit_entries": entries, "audit_limit": HISTORY_LIMIT, **(extra_context or {})}
        return super().history_view(request, object_id, context)  # type: ignore[misc]


class SoftDeleteAdminMixin:
    """Deleting in the admin marks rows deleted instead of removing them."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        obj.deleted_at = timezone.now()
        obj.save(update_fields=["deleted_at"])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.filter(deleted_at__isnull=True).update(
            deleted_at=timezone.now(), updated_at=timezone.now()
        )
