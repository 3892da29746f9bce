"""The e-mail digest of new alarms and CUSUM signals, one per regional manager."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import timezone

from branches.models import Role, User
from consistency.models import Flag

# Alarms about older weeks (a full recompute, data arriving very late) are history: they
# are in the queue, but nobody is e-mailed about them (the engine does not even queue them).
RECENT_DAYS = 14


def flag_alarms_notify(*, flag_ids: list[int]) -> int:
    """Send the digests; returns how many e-mails went out. Flags closed meanwhile and
    flags about old weeks are left out; a manager hears only of their own regions."""
    recent = timezone.localdate() - timedelta(days=RECENT_DAYS)
    flags = list(
        Flag.objects.filter(pk__in=flag_ids, status="open", period_start__gte=recent)
        .select_related("branch", "branch__region")
        .order_by("branch__code", "metric")
    )
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
    return send_mass_mail(messages, fail_silently=False) if messages else 0
