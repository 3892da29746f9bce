"""Abstract building blocks shared by the domain apps (the lowest layer: imports no app)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(
        verbose_name=_("created at"), default=timezone.now, editable=False
    )
    updated_at = models.DateTimeField(
        verbose_name=_("updated at"), default=timezone.now, editable=False
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every save moves updated_at: integrations sync incrementally on it.
        self.updated_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=False)


class SoftDeleteModel(models.Model):
    """Rows are never removed: deletions stay visible to sync feeds as tombstones.

    The default manager returns every row (so uniqueness checks see deleted rows
    too); reads for people go through ``.alive()``.
    """

    deleted_at = models.DateTimeField(
        verbose_name=_("deleted at"), null=True, blank=True, editable=False
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ExternalRefModel(models.Model):
    """Where an integration's record came from: (source, external_id) is unique when set."""

    source = models.CharField(verbose_name=_("source"), max_length=64, blank=True, default="")
    external_id = models.CharField(
        verbose_name=_("external id"), max_length=128, blank=True, default=""
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        super().clean()
        if bool(self.source) != bool(self.external_id):
            raise ValidationError(
                {"external_id": "source and external_id must be given together or not at all."}
            )


def external_ref_filter(
    queryset: models.QuerySet[Any] | models.Manager[Any], source: str, external_ids: Iterable[str]
) -> models.QuerySet[Any]:
    """Rows known by these external ids in ``source``. Restating the unique index's own
    condition (external_id not blank) lets PostgreSQL use that partial index for a batch:
    from an IN list of more than 100 values it cannot infer the condition, and would read
    the whole table instead."""
    return queryset.filter(source=source, external_id__in=list(external_ids)).exclude(
        external_id=""
    )


def external_ref_constraints(prefix: str) -> list[models.BaseConstraint]:
    """The database guarantees that pair the ExternalRefModel fields."""
    return [
        models.UniqueConstraint(
            fields=["source", "external_id"],
            condition=~models.Q(external_id=""),
            name=f"{prefix}_unique_external_ref",
            violation_error_message="A record with this source and external_id already exists.",
        ),
        models.CheckConstraint(
            condition=(models.Q(source="") & models.Q(external_id=""))
            | (~models.Q(source="") & ~models.Q(external_id="")),
            name=f"{prefix}_external_ref_pair",
            violation_error_message="source and external_id must be given together.",
        ),
    ]
