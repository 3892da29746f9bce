"""The consistency engine's tables: what is measured (``measures``), the evidence
(``flags``) and the work it becomes (``cases``)."""

from consistency.models.cases import Case, CaseEvent, CaseStatus
from consistency.models.flags import Flag, FlagEvent, FlagStatus, Severity, TestKind
from consistency.models.measures import (
    ALL_CHANNELS,
    CHANNEL_SCOPES,
    COUNT_COLUMNS,
    LOW_CSAT,
    METRIC_COLUMNS,
    QA_COLUMNS,
    QA_METRICS,
    ConsistencyIndex,
    DirtyDay,
    Metric,
    PeriodKind,
    Rollup,
    Standard,
    Target,
    metric_cell,
)

__all__ = [
    "ALL_CHANNELS",
    "CHANNEL_SCOPES",
    "COUNT_COLUMNS",
    "LOW_CSAT",
    "METRIC_COLUMNS",
    "QA_COLUMNS",
    "QA_METRICS",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "ConsistencyIndex",
    "DirtyDay",
    "Flag",
    "FlagEvent",
    "FlagStatus",
    "Metric",
    "PeriodKind",
    "Rollup",
    "Severity",
    "Standard",
    "Target",
    "TestKind",
    "metric_cell",
]
