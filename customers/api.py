"""REST API for customers: sync feed, single writes with ETag, upsert by external id, bulk."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.etag import if_match
from common.api.fields import CodeField, SyncFieldsMixin
from common.api.filters import SyncFilterSet
from common.api.serializers import BulkResponseSerializer, StrictSerializer, bulk_request_schema
from common.api.views import (
    BulkUpsertApi,
    SyncListApi,
    detail_response,
    scoped_get,
    single_write_response,
)
from customers.models import LANGUAGES, Channel, Customer
from customers.selectors import customer_feed, customer_list
from customers.services import customer_delete, customers_upsert

SCOPES = {"read": "customers:read", "write": "customers:write"}


class CustomerSerializer(SyncFieldsMixin, StrictSerializer):
    """A customer. On writes every field is optional: what is left out keeps its value
    (a new customer needs a ``name``)."""

    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    preferred_channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, allow_blank=True
    )
    home_branch = CodeField(
        max_length=32, required=False, allow_null=True, help_text="Branch code, e.g. nor-01."
    )
    consent_marketing = serializers.BooleanField(required=False)
    consent_surveys = serializers.BooleanField(required=False)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    source = serializers.CharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)


class CustomerFilter(SyncFilterSet):
    q = django_filters.CharFilter(method="search", help_text="Name, e-mail or phone contains.")
    email = django_filters.CharFilter(lookup_expr="iexact")
    phone = django_filters.CharFilter(method="by_phone")
    home_branch = django_filters.CharFilter(field_name="home_branch__code")
    source = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        condition = Q(name__icontains=value) | Q(email__icontains=value)
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) >= 3:
            condition |= Q(phone__contains=digits)
        return queryset.filter(condition)

    def by_phone(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.filter(phone__contains="".join(ch for ch in value if ch.isdigit()))


UPSERT_EXAMPLE = OpenApiExample(
    "Customer from the POS",
    value={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0018"},
    request_only=True,
)


class CustomerListCreateApi(SyncListApi):
    """Customers in sync order (updated_at, id); `?format=csv` exports every match."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    required_scopes = SCOPES
    csv_filename = "customers"

    def get_queryset(self) -> QuerySet[Customer]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Customer.objects.none()
        return customer_feed(actor=self.request.user)

    @extend_schema(responses={201: CustomerSerializer}, examples=[UPSERT_EXAMPLE])
    def post(self, request: Request) -> Response:
        item = CustomerSerializer(data=request.data)
        item.is_valid(raise_exception=True)
        [result] = customers_upsert(
            actor=request.user, items=[dict(item.validated_data)], create_only=True
        )
        return single_write_response(result, CustomerSerializer)


class CustomerDetailApi(APIView):
    serializer_class = CustomerSerializer
    required_scopes = SCOPES

    def _get(self, request: Request, pk: int) -> Customer:
        return scoped_get(customer_list(actor=request.user), pk=pk)

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return detail_response(self._get(request, pk), CustomerSerializer)

    @extend_schema(request=CustomerSerializer, responses=CustomerSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        customer = self._get(request, pk)
        item = CustomerSerializer(data=request.data, partial=True)
        item.is_valid(raise_exception=True)
        [result] = customers_upsert(
            actor=request.user,
            items=[{**item.validated_data, "id": customer.pk}],
            if_match=if_match(request),
        )
        return single_write_response(result, CustomerSerializer)

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        customer_delete(
            actor=request.user, customer=self._get(request, pk), if_match=if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerByExternalIdApi(APIView):
    """The customer an integration knows as (source, external_id): PUT creates or updates."""

    serializer_class = CustomerSerializer
    required_scopes = SCOPES

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, source: str, external_id: str) -> Response:
        customer = scoped_get(
            customer_list(actor=request.user), source=source, external_id=external_id
        )
        return detail_response(customer, CustomerSerializer)

    @extend_schema(
        request=CustomerSerializer,
        responses={200: CustomerSerializer, 201: CustomerSerializer},
        examples=[UPSERT_EXAMPLE],
    )
    def put(self, request: Request, source: str, external_id: str) -> Response:
        item = CustomerSerializer(data=request.data)
        item.is_valid(raise_exception=True)
        data: dict[str, Any] = {**item.validated_data, "source": source, "external_id": external_id}
        [result] = customers_upsert(actor=request.user, items=[data], if_match=if_match(request))
        return single_write_response(result, CustomerSerializer)


class CustomerBulkApi(BulkUpsertApi):
    """Up to 1 000 customers; each with an external reference is created or updated."""

    item_serializer_class = CustomerSerializer
    required_scopes = SCOPES
    upsert = staticmethod(customers_upsert)

    @extend_schema(
        request={"application/json": bulk_request_schema("CustomerRequest")},
        responses=BulkResponseSerializer,
        examples=[
            OpenApiExample(
                "Two customers from the POS",
                value=[
                    {"source": "pos", "external_id": "C-1", "name": "Ada Lovelace"},
                    {"source": "pos", "external_id": "C-2", "name": "Alan Turing"},
                ],
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


urlpatterns = [
    path("customers/", CustomerListCreateApi.as_view(), name="customer-list"),
    path("customers/bulk/", CustomerBulkApi.as_view(), name="customer-bulk"),
    path(
        "customers/by-external-id/<str:source>/<str:external_id>/",
        CustomerByExternalIdApi.as_view(),
        name="customer-by-external-id",
    ),
    path("customers/<int:pk>/", CustomerDetailApi.as_view(), name="customer-detail"),
]
