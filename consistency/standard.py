"""The standard's versions as the engine reads them: which targets apply on a day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from consistency.models import Standard, Target


class StandardBook:
    """The standard's versions, loaded once per recompute: which targets apply on a day."""

    def __init__(self) -> None:
        self.versions = list(Standard.objects.order_by("-effective_from"))
        targets: dict[int | None, dict[tuple[str, str], Target]] = defaultdict(dict)
        for target in Target.objects.all():
            targets[target.standard_id][(target.metric, target.channel)] = target
        self.targets: dict[int | None, dict[tuple[str, str], Target]] = dict(targets)

    def version_on(self, day: date) -> int | None:
        """The id of the version in force on ``day`` (None before the first)."""
        return next((v.pk for v in self.versions if v.effective_from <= day), None)

    def on(self, day: date) -> dict[tuple[str, str], Target]:
        return self.targets.get(self.version_on(day), {})
