"""The seeded standard: the data migration (which keeps its own copy) installs exactly the
values of consistency.defaults, which tests and benchmarks use."""

from __future__ import annotations

from consistency import defaults
from consistency.models import Standard, Target


def test_the_installed_standard_holds_the_defaults(db: None) -> None:
    standard = Standard.objects.get(effective_from=defaults.EFFECTIVE_FROM)
    fields = ["metric", "channel", "target", "direction", "min_n", "threshold_seconds", "cusum_h"]
    installed = sorted(Target.objects.filter(standard=standard).values_list(*fields))
    expected = sorted(tuple(row[f] for f in fields) for row in defaults.target_rows())
    assert installed == expected
