"""E-mails about cases: one when a case opens, escalates or relapses (never per flag), and
a weekly digest per regional manager. Both go to the branch's managers by their regions
and branches; each event is claimed before its e-mail leaves, so none is sent twice."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from branches.models import Branch, Role, User
from consistency.case_words import case_sentence, engine_note
from consistency.models import Case, CaseEvent, CaseStatus

logger = logging.getLogger(__name__)
SUBJECTS = {
    "opened": gettext_lazy("New case"),
    "escalated": gettext_lazy("Case escalated to alarm"),
    "reopened": gettext_lazy("Case reopened (relapse)"),
}


def language_of(user: User) -> str:
    """The language a user reads e-mails in: their own, else the site's."""
    return user.language or settings.LANGUAGE_CODE


def by_language(users: list[User]) -> dict[str, list[str]]:
    """Recipients' addresses grouped by their language (one e-mail per language)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for user in users:
        groups[language_of(user)].append(user.email)
    return groups


def _case_message(event: CaseEvent, to: list[str]) -> mail.EmailMessage:
    """An event's e-mail in the active language."""
    case = event.case
    what = SUBJECTS.get(event.action, _("Case"))
    subject = _("[Branch CRM] %(what)s: %(code)s %(metric)s") % {
        "what": what,
        "code": case.branch.code,
        "metric": case.get_metric_display(),
    }
    note = engine_note(event.note) if event.actor_id is None else event.note
    body = _("%(summary)s.\n\nStatus: %(status)s. %(note)s\n\nOpen the case: %(link)s\n") % {
        "summary": case_sentence(case),
        "status": case.get_status_display(),
        "note": note,
        "link": case_link(case),
    }
    return mail.EmailMessage(subject, body, to=to)


def case_link(case: Case) -> str:
    return f"{settings.SURVEY_BASE_URL.rstrip('/')}/cases/{case.pk}/"


def managers_of(branch: Branch) -> list[User]:
    """Who hears of a branch's cases: its region's regional managers and its branch
    managers, active and with an e-mail address."""
    return list(
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(role=Role.REGIONAL_MANAGER, regions=branch.region_id)
            | Q(role=Role.BRANCH_MANAGER, branches=branch)
        )
        .distinct()
        .order_by("username")
    )


def _claim() -> list[CaseEvent]:
    with transaction.atomic():
        claimed = list(
            CaseEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notify_pending=True)
            .order_by("id")[:500]
        )
        CaseEvent.objects.filter(pk__in=[e.pk for e in claimed]).update(notify_pending=False)
    return list(
        CaseEvent.objects.filter(pk__in=[e.pk for e in claimed])
        .select_related("case", "case__branch", "case__branch__region")
        .order_by("id")
    )


def case_events_notify() -> int:
    """Send one e-mail per waiting case event to the case's managers; returns how many were
    sent. A mail server that fails is logged: the case is on the managers' pages anyway."""
    sent = 0
    for event in _claim():
        for language, recipients in by_language(managers_of(event.case.branch)).items():
            with translation.override(language):
                message = _case_message(event, recipients)
            try:
                sent += message.send()
            except Exception:  # claimed already: say so, do not send twice
                logger.exception("Sending the e-mail of case event %s failed", event.pk)
    return sent


def _digest(manager: User, mine: list[Case], gone: list[Case]) -> mail.EmailMessage:
    """A regional manager's week, in the active language."""
    unplanned = sorted((c for c in mine if not c.plan), key=lambda c: c.opened_at)
    lines = [
        ngettext(
            "%(count)s open case in your branches:",
            "%(count)s open cases in your branches:",
            len(mine),
        )
        % {"count": len(mine)}
    ]
    lines += [f"- {case_sentence(c)} ({c.get_status_display()}) {case_link(c)}" for c in mine[:20]]
    if unplanned:
        oldest = unplanned[0]
        since = formats.date_format(timezone.localtime(oldest.opened_at))
        lines += [
            "",
            _("Oldest without a plan, open since %(day)s:") % {"day": since},
            f"- {case_sentence(oldest)} {case_link(oldest)}",
        ]
    if gone:
        lines += ["", _("Resolved by themselves this week (back within the limits):")]
        lines += [f"- {c.branch.code} {c.get_metric_display()}" for c in gone]
    subject = _("[Branch CRM] Your cases this week: %(count)s open") % {"count": len(mine)}
    return mail.EmailMessage(subject, "\n".join(lines) + "\n", to=[manager.email])


def cases_weekly_digest(*, now: datetime | None = None) -> int:
    """Each regional manager's week in one e-mail: the open cases of their regions (worst
    first), the oldest still without a plan, and those that resolved themselves."""
    now = now or timezone.now()
    week_ago = now - timedelta(days=7)
    open_cases = list(
        Case.objects.filter(status__in=Case.OPEN_STATUSES)
        .select_related("branch")
        .order_by("rank", "-abs_z", "-periods", "opened_at")
    )
    resolved = list(
        Case.objects.filter(
            status=CaseStatus.RESOLVED,
            resolved_at__gte=week_ago,
            events__action="resolved",
            events__actor__isnull=True,
        )
        .select_related("branch")
        .distinct()
    )
    by_region: dict[int, list[Case]] = defaultdict(list)
    for case in open_cases:
        by_region[case.branch.region_id].append(case)
    quiet_by_region: dict[int, list[Case]] = defaultdict(list)
    for case in resolved:
        quiet_by_region[case.branch.region_id].append(case)
    managers = (
        User.objects.filter(role=Role.REGIONAL_MANAGER, is_active=True)
        .exclude(email="")
        .prefetch_related("regions")
    )
    messages = []
    for manager in managers:
        regions = [r.pk for r in manager.regions.all()]
        mine = [c for r in regions for c in by_region.get(r, [])]
        gone = [c for r in regions for c in quiet_by_region.get(r, [])]
        if not mine and not gone:
            continue
        with translation.override(language_of(manager)):
            messages.append(_digest(manager, mine, gone))
    if not messages:
        return 0
    try:
        with mail.get_connection() as connection:
            return connection.send_messages(messages) or 0
    except Exception:
        logger.exception("Sending %d weekly case digest(s) failed", len(messages))
        return 0
