"""Seed throughput and memory: rows/s and peak RSS of `seed_demo` at two sizes.

Usage (against a scratch PostgreSQL database; its demo data is replaced):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python benchmarks/seed.py

Options: --sizes 100000,1000000  --branches 24  --weeks 12. Each size runs in a fresh
process so its peak memory is its own; flat memory means the peak barely moves
between sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(size: int, branches: int, weeks: int) -> dict[str, float]:
    """Seed ``size`` interactions in this process and report time and peak memory."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command(
        "seed_demo",
        reset=True,
        interactions=size,
        branches=branches,
        weeks=weeks,
        truth_file=Path(tempfile.gettempdir()) / "crm-bench-truth.json",
        verbosity=0,
    )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM interactions_interaction")
        (rows,) = cursor.fetchone()
    return {
        "interactions": rows,
        "seconds": elapsed,
        "rows_per_second": rows / elapsed,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vendor": connection.vendor,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--branches", type=int, default=24)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.branches, args.weeks)))
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a scratch PostgreSQL database (its data is replaced).")
        return 2
    print(f"{'interactions':>12} {'seconds':>8} {'rows/s':>9} {'peak RSS MiB':>13}")
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--branches",
                str(args.branches),
                "--weeks",
                str(args.weeks),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(out.stderr)
            return out.returncode
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['interactions']:>12,} {r['seconds']:>8.1f} {r['rows_per_second']:>9,.0f} "
            f"{r['peak_rss_mib']:>13.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
