"""Customer pages: search as you type, a new customer, and editing a profile.

The 360° page (profile plus every touchpoint) lives in ``interactions.views``: it needs
the interactions, and this app sits below that one.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.forms import apply_errors
from common.views import csv_or_page
from customers.forms import CustomerForm, CustomerSearchForm
from customers.models import Customer
from customers.selectors import customer_get, customer_picks, customer_search
from customers.services import customer_create, customer_update

SEARCH_LIMIT = 20
PICK_LIMIT = 8  # matches the log form offers; more ask for a longer query


@login_required
def customer_search_view(request: HttpRequest) -> HttpResponseBase:
    """The search page, and (``?pick=1``) the list of matches the log form picks from."""
    form = CustomerSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    if request.GET.get("pick"):
        picks = customer_picks(actor=request.user, query=query, limit=PICK_LIMIT)
        return render(request, "customers/_pick.html", {"picks": picks, "query": query})
    customers = list(customer_search(actor=request.user, query=query, limit=SEARCH_LIMIT))
    columns = ["id", "name", "email", "phone", "home_branch"]
    rows = [
        {
            "id": c.pk,
            "name": c.name,
            "email": c.email,
            "phone": c.phone,
            "home_branch": c.home_branch.code if c.home_branch else "",
        }
        for c in customers
    ]
    return csv_or_page(
        request,
        "customers/search.html",
        {"form": form, "customers": customers, "query": query, "limit": SEARCH_LIMIT},
        columns=columns,
        rows=rows,
        filename="customers",
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, initial={"name": request.GET.get("name", "")})
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customer-page", pk=customer.pk)
    status = 400 if form.errors else 200
    return render(request, "customers/form.html", {"form": form, "customer": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = customer_get(actor=request.user, customer_id=pk)
    except (Customer.DoesNotExist, PermissionDenied):
        raise Http404("No such customer.") from None
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            customer_update(actor=request.user, customer=customer, data=changed)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Customer saved.") if changed else _("Nothing changed."))
            return redirect("customer-page", pk=customer.pk)
    status = 400 if form.errors else 200
    return render(
        request, "customers/form.html", {"form": form, "customer": customer}, status=status
    )
