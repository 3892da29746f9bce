"""Building blocks the apps' API views share: sync-ordered lists with CSV export,
single writes answered with ETag, and bulk upserts with one result per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions, generics, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.csv import CSVRenderer, csv_response
from common.api.errors import PayloadTooLarge, PreconditionFailed
from common.api.etag import etag_of
from common.api.filters import SyncFilterSet
from common.api.pagination import KeysetPagination
from common.api.serializers import ValuesRepresentation, shared_serializer
from common.bulk import ItemResult

MAX_BULK_ITEMS = 1000
IDEMPOTENCY_HEADER = "Idempotency-Key"
Upsert = Callable[..., list[ItemResult]]


class SyncListApi(generics.ListAPIView):
    """A list in keyset pages, by default in sync order (updated_at, id); ``?format=csv``
    streams every matching row in the same order instead of one page."""

    pagination_class = KeysetPagination
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_filename = "export"

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        filterset_class = getattr(self, "filterset_class", None)
        if (
            filterset_class is not None
            and issubclass(filterset_class, SyncFilterSet)
            and not filterset_class.asked_for(self.request.query_params)
        ):
            return filterset_class.unfiltered(queryset)
        return super().filter_queryset(queryset)

    def get_renderers(self) -> list[Any]:
        """CSV is an export of the list: a write on the same URL answers in JSON."""
        if self.request is not None and self.request.method not in {"GET", "HEAD"}:
            return [JSONRenderer()]
        return super().get_renderers()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = self.filter_queryset(self.get_queryset())
        serializer_class = self.get_serializer_class()
        if request.accepted_renderer.format == "csv":
            self.paginator.validate_params(request, self)  # type: ignore[union-attr]
            return csv_response(  # type: ignore[return-value]
                rows.order_by(*self.paginator.ordering(self)),  # type: ignore[union-attr]
                serializer_class,
                self.csv_filename,
            )
        if issubclass(serializer_class, ValuesRepresentation):
            page = self.paginate_queryset(rows.values(*serializer_class.value_columns))
            zone = timezone.get_current_timezone()
            data = [serializer_class.represent_values(row, zone) for row in page or ()]
        else:
            data = self.get_serializer(self.paginate_queryset(rows), many=True).data
        return self.get_paginated_response(data)


def single_write_response(
    result: ItemResult, serializer_class: type[serializers.BaseSerializer]
) -> Response:
    """201/200 with the record and its ETag, or the error the result stands for."""
    if result.status == "error":
        if result.stale:
            raise PreconditionFailed()
        if result.forbidden:
            raise exceptions.PermissionDenied(_first_message(result.errors))
        if result.missing:
            raise exceptions.NotFound(_first_message(result.errors))
        raise exceptions.ValidationError(result.errors)
    code = status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK
    return Response(
        shared_serializer(serializer_class).to_representation(result.instance),
        status=code,
        headers={"ETag": etag_of(result.instance)},
    )


def _first_message(errors: dict[str, list[str]]) -> str:
    return next((messages[0] for messages in errors.values() if messages), "Not allowed.")


def detail_response(instance: Any, serializer_class: type[serializers.BaseSerializer]) -> Response:
    return Response(
        shared_serializer(serializer_class).to_representation(instance),
        headers={"ETag": etag_of(instance)},
    )


class BulkUpsertApi(APIView):
    """POST up to 1 000 items; each is validated on its own, valid ones are saved and
    every item gets a result (index, status, id, errors): nothing is dropped silently."""

    item_serializer_class: type[serializers.Serializer]
    upsert: Upsert  # the app's service, e.g. staticmethod(customers_upsert)
    renderer_classes = [JSONRenderer]

    def post(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else request.data
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError(
                {"items": ['Send a non-empty JSON array of items, or {"items": [...]}.']}
            )
        not_objects = [i for i, item in enumerate(items) if not isinstance(item, dict)]
        if not_objects:
            raise exceptions.ValidationError(
                {"items": [f"Item {i} is not a JSON object." for i in not_objects[:10]]}
            )
        if len(items) > MAX_BULK_ITEMS:
            raise PayloadTooLarge(
                f"At most {MAX_BULK_ITEMS} items per batch; this one has {len(items)}."
            )
        results: dict[int, dict[str, Any]] = {}
        valid: list[tuple[int, dict[str, Any]]] = []
        # A retried batch must create nothing twice: each item names its record (id or
        # external reference), unless the whole batch carries an Idempotency-Key.
        keyed = IDEMPOTENCY_HEADER in request.headers
        # One serializer validates every item: building its fields is the costly part.
        validator = shared_serializer(self.item_serializer_class)
        for index, raw in enumerate(items):
            try:
                valid.append((index, _bulk_item(validator, raw, keyed)))
            except serializers.ValidationError as exc:
                results[index] = _result_body(index, "error", None, exc.detail)
        saved = self.upsert(actor=request.user, items=[data for _, data in valid])
        for (index, _), result in zip(valid, saved, strict=True):
            results[index] = _result_body(index, result.status, result.id, result.errors)
        ordered = [results[i] for i in range(len(items))]
        counts = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
        for body in ordered:
            counts[body["status"]] += 1
        return Response(
            {
                "created": counts["created"],
                "updated": counts["updated"],
                "unchanged": counts["unchanged"],
                "errors": counts["error"],
                "results": ordered,
            }
        )


UNNAMED_ITEM = (
    "Name the record: an external_id (with its source) or the id of a record to update, so "
    "that a retried batch creates nothing twice; or send the batch with an Idempotency-Key."
)


def _bulk_item(validator: serializers.Serializer, raw: dict[str, Any], keyed: bool) -> Any:
    """One item's validated values; ``id`` (read-only elsewhere) names a row to update."""
    raw = dict(raw)
    pk = raw.pop("id", None)
    if pk is not None and (not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63):
        raise serializers.ValidationError({"id": ["Must be the id of a record (a whole number)."]})
    data = dict(validator.run_validation(raw))
    if pk is not None:
        data["id"] = pk
    elif not data.get("external_id") and not keyed:
        raise serializers.ValidationError({"external_id": [UNNAMED_ITEM]})
    return data


def _result_body(index: int, state: str, pk: int | None, errors: Any) -> dict[str, Any]:
    return {"index": index, "status": state, "id": pk, "errors": errors or {}}


def scoped_get(queryset: QuerySet[Any], **lookup: Any) -> Any:
    """One row of a queryset already limited to the caller's reach: outside it is a 404."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound() from None
