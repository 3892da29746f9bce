"""REST API for regions and branches: everyone reads what they may see, HQ admins write."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import branch_scope, regions_visible_to
from branches.models import Branch, Region
from branches.services import branch_save, region_save
from common.api.permissions import ChainAdminWrites
from common.api.serializers import StrictSerializer
from common.api.views import scoped_get

SCOPES = {"read": "interactions:read"}  # no key writes the chain's structure
PERMISSIONS = [*APIView.permission_classes, ChainAdminWrites]


class RegionSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=120)


class BranchSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=120)
    timezone = serializers.CharField(max_length=64, default="UTC")
    is_active = serializers.BooleanField(default=True)


def visible_regions(request: Request) -> QuerySet[Region]:
    return regions_visible_to(request.user)


class RegionListApi(APIView):
    permission_classes = PERMISSIONS
    required_scopes = SCOPES

    @extend_schema(responses=RegionSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(RegionSerializer(visible_regions(request), many=True).data)

    @extend_schema(request=RegionSerializer, responses={201: RegionSerializer})
    def post(self, request: Request) -> Response:
        data = RegionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        region = region_save(actor=request.user, data=dict(data.validated_data))
        return Response(RegionSerializer(region).data, status=status.HTTP_201_CREATED)


class RegionDetailApi(APIView):
    permission_classes = PERMISSIONS
    required_scopes = SCOPES

    @extend_schema(responses=RegionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(RegionSerializer(scoped_get(visible_regions(request), pk=pk)).data)

    @extend_schema(request=RegionSerializer, responses=RegionSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        region = scoped_get(visible_regions(request), pk=pk)
        data = RegionSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        region = region_save(actor=request.user, region=region, data=dict(data.validated_data))
        return Response(RegionSerializer(region).data)


class BranchListApi(APIView):
    permission_classes = PERMISSIONS
    required_scopes = SCOPES

    @extend_schema(responses=BranchSerializer(many=True))
    def get(self, request: Request) -> Response:
        branches = branch_scope(request.user).branches().select_related("region")
        return Response(BranchSerializer(branches, many=True).data)

    @extend_schema(request=BranchSerializer, responses={201: BranchSerializer})
    def post(self, request: Request) -> Response:
        data = BranchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        branch = branch_save(actor=request.user, data=dict(data.validated_data))
        return Response(BranchSerializer(branch).data, status=status.HTTP_201_CREATED)


class BranchDetailApi(APIView):
    permission_classes = PERMISSIONS
    required_scopes = SCOPES

    def _get(self, request: Request, pk: int) -> Branch:
        return scoped_get(branch_scope(request.user).branches().select_related("region"), pk=pk)

    @extend_schema(responses=BranchSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(BranchSerializer(self._get(request, pk)).data)

    @extend_schema(request=BranchSerializer, responses=BranchSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        branch = self._get(request, pk)
        data = BranchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        branch = branch_save(actor=request.user, branch=branch, data=dict(data.validated_data))
        return Response(BranchSerializer(branch).data)


urlpatterns = [
    path("regions/", RegionListApi.as_view(), name="region-list"),
    path("regions/<int:pk>/", RegionDetailApi.as_view(), name="region-detail"),
    path("branches/", BranchListApi.as_view(), name="branch-list"),
    path("branches/<int:pk>/", BranchDetailApi.as_view(), name="branch-detail"),
]
