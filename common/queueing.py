"""Sending a Celery task after a write has committed, without the broker failing the write.

The work such a task does is already in the database (a pending webhook delivery, a
DirtyDay row, an alarm waiting to be announced) and a periodic beat task finds it there,
so the task only makes it happen sooner. A broker that is down, or a task run in-process
(the demo) that fails, is logged, never raised into the request that made the write: the
write has committed, and a 500 would invite the client to send it again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app

logger = logging.getLogger(__name__)


def enqueue(task: Task[Any, Any] | str, *args: Any) -> None:
    """Send ``task(*args)`` fire-and-forget. No result is subscribed to: with the result
    backend down as well (by default it is the broker's Redis), that alone would hold the
    request for its ~20 s of reconnect attempts. Run in-process (no broker), the task's
    own errors are logged the same way: beat (or the next write) does the work again.
    A task may be named (the services below the tasks module queue it so)."""
    if isinstance(task, str):
        task = current_app.tasks[task]
    try:
        task.apply_async(args=args, ignore_result=True)
    except Exception:
        if task.app.conf.task_always_eager:
            logger.exception("%s failed in-process; its work is retried later.", task.name)
            return
        logger.warning(
            "Broker unavailable: %s was not queued; the periodic task will do the work.",
            task.name,
            exc_info=True,
        )
