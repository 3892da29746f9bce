"""Consistency recompute at chain scale against a plain GROUP BY, and one dirty week.

Usage, on a PostgreSQL database already seeded at the size to measure, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench10m \\
        .venv/bin/python manage.py seed_demo --branches 1000 --weeks 52 \\
        --interactions 10000000 --reset
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench10m \\
        .venv/bin/python benchmarks/recompute.py

Prints, in one run: the honest limit, a plain sequential GROUP BY of interactions by
branch, day and channel counting rows only; the rollups' own aggregate (every count, on
each branch's local day, nothing written); a full recompute (rollups, flags, CUSUM
charts, cases, index) with each phase's time; the incremental recompute of one dirty
branch-week; and the process's peak memory. The full recompute runs as a first build
into empty tables (every row written), then three times over its own result (what a
scheduled or post-change recompute does: only what differs is written); each aggregate
runs three times too, with the recompute's session settings, and the goals (full
recompute, first build included, within 2x the plain GROUP BY; moonshot 1.2x; one dirty
week within 1 s) are judged on medians, since a shared machine's speed varies. Its
rollups and flags replace the database's own.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


RUNS = 3


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a seeded PostgreSQL database (its rollups are replaced).")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # no digest spam

    from branches.models import Branch
    from consistency.models import (
        COUNT_COLUMNS,
        ConsistencyIndex,
        DirtyDay,
        Flag,
        FlagEvent,
        Rollup,
    )
    from consistency.recompute import consistency_recompute, dirty_days_recompute
    from consistency.rollups import (
        COUNTING_SETTINGS,
        STAGE_SETTINGS,
        DayRange,
        _day_counts,
        week_start,
    )
    from interactions.models import Interaction

    interactions = Interaction.objects.count()
    branches = Branch.objects.count()
    print(f"{interactions:,} interactions, {branches:,} branches; peak {peak_mib():.0f} MiB")

    # Every count is summed, so PostgreSQL cannot skip computing any of them.
    every_count = " + ".join(f"SUM(agg.{c})" for c in COUNT_COLUMNS)
    table = Interaction._meta.db_table

    def timed(
        sql: str, params: Sequence[Any] = (), extra: dict[str, str] | None = None
    ) -> tuple[float, int]:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            # The recompute's own settings (and, for its counting pass, that pass's).
            for name, value in {**STAGE_SETTINGS, **(extra or {})}.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
            cursor.execute(sql, params)
            groups = cursor.fetchone()[0]
        return time.perf_counter() - began, groups

    def median_of_runs(
        title: str, sql: str, params: Sequence[Any] = (), extra: dict[str, str] | None = None
    ) -> tuple[float, int]:
        # This machine's speed varies from minute to minute: the median of three runs.
        runs = [timed(sql, params, extra) for _ in range(RUNS)]
        seconds, groups = sorted(runs)[RUNS // 2]
        each = ", ".join(f"{took:.1f}" for took, _ in runs)
        print(f"{title}: {seconds:6.1f} s median ({each}), {groups:,} groups")
        return seconds, groups

    # The honest limit: one sequential pass grouping by branch, day and channel, counting
    # nothing but rows, with the same session settings.
    plain, _ = median_of_runs(
        "plain GROUP BY branch, day, channel (the limit)",
        f"SELECT count(*) FROM (SELECT branch_id, CAST(occurred_at AS date), channel, "  # noqa: S608
        f"count(*) FROM {table} GROUP BY 1, 2, 3) agg",
    )
    sql, params = _day_counts(DayRange())
    bare, _ = median_of_runs(
        "the rollups' own aggregate (every count, local days, nothing written)",
        f"SELECT count(*), {every_count} FROM ({sql}) agg",  # noqa: S608
        params,
        COUNTING_SETTINGS,
    )

    def full_recompute(title: str) -> float:
        phases: dict[str, float] = {}
        began = time.perf_counter()

        def progress(label: str, done: int, total: int) -> None:
            print(f"\r  {label}: {done}/{total}", end="", file=sys.stderr, flush=True)
            if done >= total:
                print(file=sys.stderr)
                phases[label] = time.perf_counter() - began - sum(phases.values())

        result = consistency_recompute(progress=progress)
        seconds = time.perf_counter() - began
        print(
            f"{title}: {seconds:6.1f} s  ({seconds / plain:.2f}x the plain GROUP BY; "
            f"{Rollup.objects.count():,} rollups, {Flag.objects.count():,} flags, "
            f"{result.periods} weeks); peak {peak_mib():.0f} MiB"
        )
        print("  " + ", ".join(f"{label} {took:.1f} s" for label, took in phases.items()))
        return seconds

    with transaction.atomic():  # start from nothing: the first build writes every row
        for model in (FlagEvent, Flag, Rollup, ConsistencyIndex, DirtyDay):
            model.objects.all()._raw_delete(model.objects.db)
    tables = ", ".join(m._meta.db_table for m in (FlagEvent, Flag, Rollup, ConsistencyIndex))

    def settle() -> None:
        # What autovacuum does in production between runs; done here so that it does not
        # start in the middle of the next measurement.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {tables}")
            cursor.execute("CHECKPOINT")  # the first build's WAL is not flushed mid-run

    settle()
    first = full_recompute("full recompute, first build")
    settle()
    rebuilds = sorted(
        full_recompute(f"full recompute, over its own rollups #{i + 1}") for i in range(RUNS)
    )
    full = rebuilds[RUNS // 2]
    print(
        f"full recompute over its own rollups: {full:6.1f} s median, {full / plain:.2f}x the "
        f"plain GROUP BY ({full / bare:.2f}x the rollups' own aggregate)"
    )

    latest = Interaction.objects.latest("occurred_at")
    day = latest.occurred_at.date() - timedelta(days=7)
    DirtyDay.objects.all().delete()
    DirtyDay.objects.create(branch_id=latest.branch_id, day=day)
    began = time.perf_counter()
    dirty_days_recompute()
    incremental = time.perf_counter() - began
    print(
        f"one dirty branch-week ({week_start(day)}): {incremental:6.2f} s; "
        f"peak {peak_mib():.0f} MiB"
    )
    print(
        f"goals: full <= 2x the plain GROUP BY -> {'met' if full <= 2 * plain else 'NOT met'} "
        f"(first build {first / plain:.2f}x: {'met' if first <= 2 * plain else 'NOT met'}; "
        f"moonshot 1.2x: {'met' if max(first, full) <= 1.2 * plain else 'NOT met'}); "
        f"incremental <= 1 s -> {'met' if incremental <= 1 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
