"""A worker dies in the middle of a recompute: its transaction goes with it, the stale days
stay claimed by nobody, and the next run gives exactly what a clean recompute gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from consistency import recompute as services
from consistency.models import ConsistencyIndex, DirtyDay, Flag, Rollup
from consistency.tasks import dirty_days_recompute
from tests.faults.conftest import (
    BROKER,
    WAIT_SECONDS,
    admin_connection,
    counted_once,
    database_url,
    history_chain,
    later_writes,
    needs_broker,
    needs_postgres,
    new_queue,
    opened_once,
    output,
    output_from_scratch,
    queue_delete,
    task_runs,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


def dirty_days() -> list[tuple[int, Any]]:
    return sorted(DirtyDay.objects.values_list("branch_id", "day"))


def start_worker_process(queue: str, log: Any) -> subprocess.Popen[bytes]:
    """``celery -A crm worker`` as deployed, on the real broker and pytest's test database."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
    }
    if os.environ.get("CELERY_RESULT_BACKEND"):
        env["CELERY_RESULT_BACKEND"] = os.environ["CELERY_RESULT_BACKEND"]
    command = [
        sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool=solo",
        f"--queues={queue}", f"--hostname={queue}@%h", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def kill_mid_recompute(queue: str, log: Any) -> None:
    """Start a worker, send it the beat's recompute, hold it where it first writes the
    consistency index (after the rollups and the weeks' flags, in its still-open
    transaction, before the CUSUM flags) and kill it there with SIGKILL, as the OOM
    killer or a lost node would."""
    gate = admin_connection()  # holds the lock, in its own transaction
    watch = admin_connection()  # looks on (autocommit: activity is never a stale snapshot)
    watch.autocommit = True
    worker = start_worker_process(queue, log)

    def worker_output() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-3000:]

    try:
        gate.execute(f"LOCK TABLE {ConsistencyIndex._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        gate_pid = gate.info.backend_pid
        dirty_days_recompute.apply_async(queue=queue, ignore_result=True)

        def blocked_backend() -> int | None:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited early:\n{worker_output()}")
            row = watch.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [gate_pid],
            ).fetchone()
            return row[0] if row else None

        pid = wait_until(blocked_backend, "the worker's recompute to reach the index")
        written = {
            name
            for (name,) in watch.execute(
                "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock'",
                [pid],
            )
        }
        assert {Rollup._meta.db_table, Flag._meta.db_table} <= written, written
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=WAIT_SECONDS) == -signal.SIGKILL
        gate.rollback()  # the dead worker's backend runs on, finds its client gone, aborts
        wait_until(
            lambda: (
                not watch.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            ),
            "the killed worker's database session to end",
        )
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=WAIT_SECONDS)
        gate.close()
        watch.close()
        queue_delete(queue)


@needs_postgres
@needs_broker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_recompute_loses_nothing_and_counts_nothing_twice(
    standard: None,
) -> None:
    branches = history_chain()
    live = later_writes(branches)
    before, stale = output(), dirty_days()
    assert stale
    assert before["flags"]

    queue = new_queue()
    with tempfile.TemporaryFile() as log:
        kill_mid_recompute(queue, log)

    # Nothing of the killed run was committed, and its claim on the stale days went too.
    assert output() == before
    assert dirty_days() == stale

    with task_runs(queue) as runs:  # the next run, on a real worker
        runs.run(dirty_days_recompute)
    assert not DirtyDay.objects.exists()
    counted_once(live)
    assert opened_once()
    assert output() == output_from_scratch()


class Crash(Exception):  # noqa: N818 - what the worker's death looks like from inside
    pass


@pytest.mark.django_db
def test_a_recompute_aborted_part_way_is_redone_exactly(
    standard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same fault on every database, in-process: the recompute fails after its rollups
    and flags were written, before it commits (an exception instead of SIGKILL); the
    beat task then runs again, in-process."""
    branches = history_chain()
    live = later_writes(branches)
    before, stale = output(), dirty_days()
    refresh = services.flags_refresh
    written: list[int] = []

    def refresh_then_die(*args: Any, **kwargs: Any) -> None:
        refresh(*args, **kwargs)
        written.append(Rollup.objects.count())
        raise Crash

    monkeypatch.setattr(services, "flags_refresh", refresh_then_die)
    with pytest.raises(Crash):
        services.dirty_days_recompute()
    monkeypatch.undo()
    assert written
    assert written[0] > 0
    assert output() == before
    assert dirty_days() == stale

    dirty_days_recompute.apply(throw=True)
    assert not DirtyDay.objects.exists()
    counted_once(live)
    assert opened_once()
    assert output() == output_from_scratch()
