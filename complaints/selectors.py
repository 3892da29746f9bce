"""Reads of complaints, scoped by branches.access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from branches.access import branch_scope
from complaints.models import Complaint, Status


def complaint_list(*, actor: Any) -> QuerySet[Complaint]:
    """The complaints at the branches ``actor`` sees, with what a list shows."""
    return branch_scope(actor).filter(
        Complaint.objects.select_related("branch", "type__area", "owner")
    )


def next_due(complaint: Complaint) -> datetime | None:
    """The next deadline: the acknowledgement while received, then the response; none once
    responded or closed."""
    if complaint.status == Status.RECEIVED:
        return complaint.acknowledge_due
    if complaint.status in {Status.ACKNOWLEDGED, Status.INVESTIGATING}:
        return complaint.respond_due
    return None
