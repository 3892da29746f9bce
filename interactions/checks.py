"""System checks of the interactions app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.checks import Error, register
from django.db.models import Model


@register()
def foreign_keys_to_interactions_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """On PostgreSQL the interactions table is partitioned by month, and a foreign key
    constraint cannot point at it (its unique keys include ``occurred_at``): a relation
    to Interaction must say ``db_constraint=False``, or its migration fails there."""
    return constrained_relations_to_interactions(apps.get_models())


def constrained_relations_to_interactions(models: Iterable[type[Model]]) -> list[Error]:
    from interactions.models import Interaction

    errors = []
    for model in models:
        for field in model._meta.local_fields:
            if (
                field.is_relation
                and field.related_model is Interaction
                and getattr(field, "db_constraint", False)
            ):
                errors.append(
                    Error(
                        f"{model._meta.label}.{field.name} points at Interaction with a "
                        "database constraint.",
                        hint="Add db_constraint=False: interactions are partitioned "
                        "(see interactions.partitions).",
                        obj=field,
                        id="interactions.E001",
                    )
                )
    return errors
