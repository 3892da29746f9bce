from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from branches.access import is_chain_admin, is_manager
from branches.services import user_language_set
from common.api.errors import problem_response
from common.replica import reads_from_replica
from complaints.selectors import overdue_complaints
from consistency.case_selectors import case_queue
from consistency.models import ALL_CHANNELS, Case, Metric, PeriodKind
from consistency.selectors import comparison_rows, latest_period
from consistency.views import branch_links
from crm.forms import LanguageForm
from feedback.selectors import follow_up_list
from quality.selectors import open_assignments, overdue_assignments


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the load balancer and compose health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
@cache_control(public=True, max_age=24 * 3600)  # a day: a new icon's hashed name gets through
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on their own (the admin pages declare no icon)."""
    return HttpResponsePermanentRedirect(static("crm/icon.svg"))


def api_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(request, 404, "No such API endpoint.", "not_found")
    return defaults.page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(
            request, 500, "The server failed; it has been logged.", "server_error"
        )
    return defaults.server_error(request)


@login_required
@reads_from_replica
def home(request: HttpRequest) -> HttpResponse:
    """Each role's landing page: agents log at the counter; managers see how their
    branches stand and the cases waiting for them; HQ sees the whole chain."""
    user = request.user
    if not is_manager(user):
        return redirect("interaction-log")
    kind = PeriodKind.WEEK
    period_start = latest_period(kind)
    region = user.regions.first() if not is_chain_admin(user) else None  # type: ignore[union-attr]
    rows = comparison_rows(
        actor=user,
        kind=kind,
        period_start=period_start,
        channel=ALL_CHANNELS,
        region_id=region.pk if region else None,
    )
    cases = case_queue(actor=user).filter(status__in=Case.OPEN_STATUSES)
    return render(
        request,
        "crm/home.html",
        {
            "region": region,
            "period_start": period_start,
            "rows": rows,
            "metrics": Metric.choices,
            "cases": cases[:10],
            "open_cases": cases.count(),
            "unplanned": cases.filter(plan="").count(),
            "is_admin": is_chain_admin(user),
            "overdue_follow_ups": follow_up_list(actor=user, overdue=True).count(),
            "overdue_reviews": overdue_assignments(actor=user).count(),
            "overdue_complaints": overdue_complaints(actor=user).count(),
            "my_reviews": open_assignments(reviewer=user).count(),
            **branch_links(request),
        },
    )


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switcher: saved on the signed-in user's profile, and in a cookie so the
    sign-in page keeps it too; back to the page it was chosen on."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            _("Choose one of the languages offered."), status=400, content_type="text/plain"
        )
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=language)
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home") if request.user.is_authenticated else reverse("login")
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax" from settings
    )
    return response
