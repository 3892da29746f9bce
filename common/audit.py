"""Who changed a record, when, and from where (the web UI, an API key, an import …).

Each request (and each command) runs inside an ``audit_context`` that says where writes
come from; the audited models' history rows (django-simple-history) and the flags'
events take their stamp from it. Bulk writes record their history in bulk with the
same stamp. ``history_entries`` reads one record's history back for pages and the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop


class Origin(models.TextChoices):
    UI = "ui", "web UI"
    API = "api", "API"
    ADMIN = "admin", "admin"
    IMPORT = "import", "import"
    COMMAND = "command", "command"
    SYSTEM = "system", "system"


@dataclass
class AuditContext:
    origin: str = Origin.SYSTEM
    address: str | None = None
    user: Any = None  # the signed-in staff member, if any
    integration: str = ""  # the integration whose API key made the request, if any

    def stamp(self) -> dict[str, Any]:
        return {
            "changed_via": self.origin,
            "changed_from": self.address,
            "changed_by_integration": self.integration,
        }

    def staff_member(self) -> Any:
        user = self.user
        return user if user is not None and getattr(user, "pk", None) else None


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current_audit() -> AuditContext:
    return _current.get() or AuditContext()


@contextmanager
def audit_context(
    origin: str, *, address: str | None = None, user: Any = None
) -> Iterator[AuditContext]:
    context = AuditContext(origin=origin, address=address, user=user)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def audit_integration(name: str) -> None:
    """Name the integration behind the current request (called once its key checks out)."""
    context = _current.get()
    if context is not None:
        context.origin = Origin.API
        context.integration = name
        context.user = None


class AuditStamp(models.Model):
    """Where a change came from; a base of every history row and of flag events."""

    changed_via = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SYSTEM)
    changed_by_integration = models.CharField(max_length=120, blank=True, default="")
    changed_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def source_label(self) -> str:
        """'API · integration Till sync · 10.0.0.5', 'web UI', …"""
        parts = [self.get_changed_via_display()]
        if self.changed_by_integration:
            parts.append(f"integration {self.changed_by_integration}")
        if self.changed_from:
            parts.append(self.changed_from)
        return " · ".join(parts)


def stamp_history_row(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """simple-history's pre_create_historical_record: stamp the row from the context."""
    context = current_audit()
    for field, value in context.stamp().items():
        setattr(history_instance, field, value)
    if history_instance.history_user_id is None and context.staff_member() is not None:
        history_instance.history_user = context.staff_member()


_history_models: dict[type[models.Model], Any] = {}


def history_model(model: type[models.Model]) -> Any:
    """The model's history model (django-simple-history), or None. Asked once per model:
    simple-history builds a new manager class on every ``model.history``."""
    if model not in _history_models:
        _history_models[model] = getattr(getattr(model, "history", None), "model", None)
    return _history_models[model]


def history_stamp() -> dict[str, Any]:
    """What every history row written now says of the change, by column: when, by whom,
    from where."""
    context = current_audit()
    user = context.staff_member()
    return {
        "history_date": timezone.now(),
        "history_user_id": user.pk if user is not None else None,
        "history_change_reason": None,
        **context.stamp(),
    }


def history_rows(
    model: type[models.Model], created: Sequence[Any], updated: Sequence[Any]
) -> list[models.Model]:
    """Unsaved history rows for rows written in bulk (no signals fire for those), stamped
    from the context; an empty list for a model without history."""
    historical = history_model(model)
    if historical is None:
        return []
    common = history_stamp()
    fields = [f.attname for f in historical.tracked_fields]
    return [
        historical(history_type=kind, **common, **{f: getattr(row, f) for f in fields})
        for kind, rows in (("+", created), ("~", updated))
        for row in rows
    ]


# In English (the audit API's words); marked so the admin's history page translates them.
KINDS = {"+": gettext_noop("created"), "~": gettext_noop("changed"), "-": gettext_noop("deleted")}


def history_entries(history: QuerySet[Any], *, limit: int | None = None) -> list[dict[str, Any]]:
    """One record's history rows (``instance.history.all()``), newest first: when, who,
    from where, and what changed (field: [before, after])."""
    rows = history.select_related("history_user").order_by("-history_date", "-history_id")
    records = list(rows[: limit + 1] if limit else rows)  # one more: what the last changed
    entries = []
    for index, record in enumerate(records[:limit] if limit else records):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = (
            {c.field: [c.old, c.new] for c in record.diff_against(previous).changes}
            if previous is not None
            else {}
        )
        entries.append(
            {
                "at": record.history_date,
                "action": record.history_change_reason or KINDS[record.history_type],
                "user": record.history_user.get_username() if record.history_user else None,
                "via": record.changed_via,
                "integration": record.changed_by_integration,
                "address": record.changed_from,
                "source": record.source_label,
                "changes": changes,
            }
        )
    return entries
