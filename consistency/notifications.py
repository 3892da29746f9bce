"""The e-mail digest of new alarms and CUSUM signals, one per regional manager."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from branches.models import Role, User
from consistency.models import Flag

# Alarms about older weeks (a full recompute, data arriving very late) are history: they
# are in the queue, but nobody is e-mailed about them (the engine does not even queue them).
RECENT_DAYS = 14
logger = logging.getLogger(__name__)


def _claim(flag_ids: Sequence[int] | None) -> list[Flag]:
    """The alarms waiting to be announced (these ones, or all), marked announced in the
    claiming transaction: a task run twice, or two workers, never send a digest twice."""
    with transaction.atomic():
        pending = Flag.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            notify_pending=True
        )
        if flag_ids is not None:
            pending = pending.filter(pk__in=flag_ids)
        claimed = list(pending.order_by("pk"))
        Flag.objects.filter(pk__in=[f.pk for f in claimed]).update(notify_pending=False)
    recent = timezone.localdate() - timedelta(days=RECENT_DAYS)
    return list(
        Flag.objects.filter(pk__in=[f.pk for f in claimed], status="open", period_start__gte=recent)
        .select_related("branch", "branch__region")
        .order_by("branch__code", "metric")
    )


def flag_alarms_notify(*, flag_ids: Sequence[int] | None = None) -> int:
    """Send the digests of the alarms waiting to be announced (``flag_ids`` of them, or all);
    returns how many e-mails went out. Flags closed meanwhile and flags about old weeks are
    left out; a manager hears only of their own regions. A mail server that fails is
    logged: the alarms stay in the queue and on the managers' home pages."""
    flags = _claim(flag_ids)
    if not flags:
        return 0
    by_region = defaultdict(list)
    for flag in flags:
        by_region[flag.branch.region_id].append(flag)
    managers = User.objects.filter(
        role=Role.REGIONAL_MANAGER, is_active=True, regions__in=list(by_region)
    ).prefetch_related("regions")
    messages = []
    for manager in managers.distinct():
        if not manager.email:
            continue
        mine = [f for region in manager.regions.all() for f in by_region.get(region.pk, [])]
        if not mine:
            continue
        lines = [
            f"- {f.branch.code} {f.get_metric_display()} ({f.channel}), week of "
            f"{f.period_start:%d %b %Y}: {f.get_severity_display()}, "
            f"{f.get_test_display().lower()}: {f.value:.1%} of {f.n}"
            for f in mine
        ]
        body = (
            f"{len(mine)} new alarm(s) in your branches:\n\n" + "\n".join(lines) + "\n\n"
            "Open the flag queue to acknowledge them and plan actions."
        )
        subject = f"[Branch CRM] {len(mine)} new service alarm(s)"
        messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, [manager.email]))
    if not messages:
        return 0
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:  # the alarms are marked announced: say so, do not send twice
        logger.exception("Sending %d alarm digest(s) failed", len(messages))
        return 0
