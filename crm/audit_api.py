"""REST API for HQ admins (and API keys with the admin scope): the audit history of
customers, interactions, flags, cases and the standard, and a customer's GDPR export and erasure."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import branch_scope
from branches.models import User
from common.api.views import scoped_get
from common.audit import history_entries
from consistency.models import Case, Flag, Standard
from consistency.selectors import flag_history, lifecycle_entries, standard_history
from crm.models import Scope
from crm.privacy import customer_erase, customer_export, may_handle_personal_data
from crm.staff_privacy import staff_erase, staff_export
from customers.models import Customer
from interactions.models import Interaction

ADMIN_SCOPES = {"read": Scope.ADMIN, "write": Scope.ADMIN}


class PrivacyRole(BasePermission):
    """HQ admins signed in, or API keys with the admin scope and no branch limits."""

    message = "Only HQ admins (or API keys with the admin scope and no branch limits) may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_handle_personal_data(request.user)


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField(help_text="created, changed, deleted, or what was done.")
    user = serializers.CharField(allow_null=True, help_text="The staff member, if any.")
    via = serializers.CharField(help_text="ui, api, admin, import, command or system.")
    integration = serializers.CharField(help_text="The integration whose API key did it.")
    address = serializers.CharField(allow_null=True, help_text="The client's IP address.")
    changes = serializers.DictField(
        child=serializers.ListField(), help_text="field: [before, after]"
    )
    note = serializers.CharField(required=False)


class HistoryApi(APIView):
    required_scopes = ADMIN_SCOPES
    permission_classes = [*APIView.permission_classes, PrivacyRole]

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        return Response(HistoryEntrySerializer(self.entries(request, pk), many=True).data)


def _history(instance: Model) -> list[dict[str, Any]]:
    return history_entries(instance.history.all())  # type: ignore[attr-defined]


class CustomerHistoryApi(HistoryApi):
    """Every change to a customer's profile: who, when, from where, before and after."""

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        return _history(scoped_get(Customer.objects.all(), pk=pk))


class InteractionHistoryApi(HistoryApi):
    """Every change to an interaction (within the caller's branches)."""

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        interactions = branch_scope(request.user).filter(Interaction.objects.all())
        return _history(scoped_get(interactions, pk=pk))


class FlagHistoryApi(HistoryApi):
    """A flag's lifecycle: opened, acknowledged, planned, resolved, cleared, reopened."""

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        return flag_history(
            scoped_get(branch_scope(request.user).filter(Flag.objects.all()), pk=pk)
        )


class CaseHistoryApi(HistoryApi):
    """A case's lifecycle: opened, acknowledged, planned, monitored, resolved (by a manager
    or by itself), withdrawn, reopened, with every note."""

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        case = scoped_get(branch_scope(request.user).filter(Case.objects.all()), pk=pk)
        return lifecycle_entries(case.events.all())


class StandardHistoryApi(HistoryApi):
    """Changes to a version of the standard and its targets."""

    def entries(self, request: Request, pk: int) -> list[dict[str, Any]]:
        return standard_history(scoped_get(Standard.objects.all(), pk=pk))


class CustomerExportApi(APIView):
    """Everything held on a customer, as JSON (GDPR access request); recorded in the
    customer's history."""

    required_scopes = ADMIN_SCOPES
    permission_classes = [*APIView.permission_classes, PrivacyRole]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        customer = scoped_get(Customer.objects.select_related("home_branch"), pk=pk)
        return Response(customer_export(actor=request.user, customer=customer))


class ErasedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    erased_at = serializers.DateTimeField()


class CustomerEraseApi(APIView):
    """Erase a customer's personal data (GDPR): anonymised everywhere, statistics kept,
    announced as ``customer.erased``. A second erasure is a 400."""

    required_scopes = ADMIN_SCOPES
    permission_classes = [*APIView.permission_classes, PrivacyRole]

    @extend_schema(request=None, responses={200: ErasedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        customer = customer_erase(
            actor=request.user, customer=scoped_get(Customer.objects.all(), pk=pk)
        )
        return Response(ErasedSerializer(customer).data)


class StaffExportApi(APIView):
    """Everything held on a member of staff as a person (GDPR access request): the reviews
    of their work and by them, their disputes, the coaching notes about them."""

    required_scopes = ADMIN_SCOPES
    permission_classes = [*APIView.permission_classes, PrivacyRole]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            staff_export(actor=request.user, user=scoped_get(User.objects.all(), pk=pk))
        )


class StaffErasedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_active = serializers.BooleanField()


class StaffEraseApi(APIView):
    """Erase a member of staff's personal data (GDPR): the account is anonymised and closed,
    what was written about them is erased, their statistics are kept. A second erasure, or
    one's own, is a 400."""

    required_scopes = ADMIN_SCOPES
    permission_classes = [*APIView.permission_classes, PrivacyRole]

    @extend_schema(request=None, responses={200: StaffErasedSerializer})
    def post(self, request: Request, pk: int) -> Response:
        person = staff_erase(actor=request.user, user=scoped_get(User.objects.all(), pk=pk))
        return Response(StaffErasedSerializer(person).data)


urlpatterns = [
    path("staff/<int:pk>/export/", StaffExportApi.as_view(), name="staff-export"),
    path("staff/<int:pk>/erase/", StaffEraseApi.as_view(), name="staff-erase"),
    path("customers/<int:pk>/history/", CustomerHistoryApi.as_view(), name="customer-history"),
    path("customers/<int:pk>/export/", CustomerExportApi.as_view(), name="customer-export"),
    path("customers/<int:pk>/erase/", CustomerEraseApi.as_view(), name="customer-erase"),
    path(
        "interactions/<int:pk>/history/",
        InteractionHistoryApi.as_view(),
        name="interaction-history",
    ),
    path("flags/<int:pk>/history/", FlagHistoryApi.as_view(), name="flag-history"),
    path("cases/<int:pk>/history/", CaseHistoryApi.as_view(), name="case-history"),
    path("standards/<int:pk>/history/", StandardHistoryApi.as_view(), name="standard-history"),
]
