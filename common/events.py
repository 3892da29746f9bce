"""Domain events: what changed, announced inside the writing transaction.

Services of the lower layers send ``domain_events``; the top layer (crm) listens and
writes a webhook outbox row in the same transaction, so an event is stored exactly
when its change is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Model
from django.dispatch import Signal

# Sent with events=[(event_type, instance), ...], e.g. ("interaction.created", interaction).
domain_events = Signal()


def emit(events: Sequence[tuple[str, Model]], *, actor: Any = None) -> None:
    if events:
        domain_events.send(sender=type(events[0][1]), events=list(events), actor=actor)
