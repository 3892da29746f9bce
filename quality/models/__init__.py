"""Call monitoring and coaching (SPEC §8 and §9): scorecards, reviews of interactions, sampled
assignments, calibration sessions, disputes and coaching notes.

A scorecard is versioned like the standard: each version is a row with ``effective_from``
and its own sections and items, so a review keeps the checklist it was scored on. Reviews
carry copies of their interaction's branch, channel, staff member and time (the rollups
and the staff pages read them without touching the partitioned interactions table).
"""

from quality.models.reviews import (
    CalibrationSession,
    Dispute,
    DisputeEvent,
    DisputeStatus,
    Review,
    ReviewKind,
)
from quality.models.scorecards import Bilingual, Item, Scale, Scorecard, Section
from quality.models.work import Assignment, CoachingNote, SamplingRule

__all__ = [
    "Assignment",
    "Bilingual",
    "CalibrationSession",
    "CoachingNote",
    "Dispute",
    "DisputeEvent",
    "DisputeStatus",
    "Item",
    "Review",
    "ReviewKind",
    "SamplingRule",
    "Scale",
    "Scorecard",
    "Section",
]
