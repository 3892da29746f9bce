"""The schema documents every endpoint, and the API keeps to it under generated input."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crm.services import api_key_create, integration_create
from crm.wsgi import application
from tests.api.conftest import ALL_SCOPES
from tests.conftest import Chain

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _test_transaction_survives_requests() -> Iterator[None]:
    """Schemathesis calls the WSGI app directly; like Django's test client, keep the
    request signals from closing the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def key_header(chain: Chain, _test_transaction_survives_requests: None) -> dict[str, str]:
    integration = integration_create(name="fuzzer", scopes=ALL_SCOPES)
    return {"Authorization": f"Api-Key {api_key_create(integration=integration)[1]}"}


# The suite replays the same examples each run, so CI is repeatable; set FUZZ_EXAMPLES
# (e.g. 300) to search further with fresh random input.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES or 15,
    derandomize=not FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: Any, key_header: dict[str, str]) -> None:
    # Schema-valid input may still name things that do not exist (a branch code, a
    # customer reference): a 400 then is right, so "positive data acceptance" is left out.
    case.call_and_validate(headers=key_header, excluded_checks=[positive_data_acceptance])


def test_schema_covers_every_endpoint_and_docs_are_local(db: None) -> None:
    paths = Client().get("/api/schema/?format=json").json()["paths"]
    for expected in [
        "/api/v1/customers/",
        "/api/v1/customers/bulk/",
        "/api/v1/customers/by-external-id/{source}/{external_id}/",
        "/api/v1/interactions/{id}/feedback/",
        "/api/v1/webhooks/deliveries/{id}/redeliver/",
        "/api/v1/service-cycles/",
        "/api/v1/branches/",
    ]:
        assert expected in paths
    bulk = paths["/api/v1/interactions/bulk/"]["post"]
    assert {"200", "400", "401", "403", "413", "429"} <= set(bulk["responses"])
    assert "application/problem+json" in bulk["responses"]["400"]["content"]
    assert bulk["requestBody"]["content"]["application/json"]["examples"]
    docs = Client().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs
    assert "https://" not in docs


def test_the_schema_says_what_the_api_refuses(db: None) -> None:
    """Request bodies refuse unknown fields, bulk bodies are required, a parameter appears
    once, writes never answer CSV, and fields that can be null say so."""
    document = Client().get("/api/schema/?format=json").json()
    components = document["components"]["schemas"]
    requests = {name: c for name, c in components.items() if name.endswith("Request")}
    assert requests
    assert all(c.get("additionalProperties") is False for c in requests.values())
    assert components["Interaction"]["properties"]["feedback_at"]["nullable"] is True
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [(p["name"], p["in"]) for p in operation.get("parameters", [])]
            assert len(names) == len(set(names)), (method, path, names)
            if method != "get":
                assert ("format", "query") not in names, (method, path)
                for answer in operation["responses"].values():
                    assert "text/csv" not in answer.get("content", {}), (method, path)
            if path.endswith("/bulk/"):
                assert operation["requestBody"]["required"] is True


def test_every_list_says_its_filters_order_and_cursor_and_every_error(db: None) -> None:
    """What a generated client (and schemathesis) can know of a list: each filter typed,
    the cursor and page size with the fixed order, and the errors it may answer."""
    document = Client().get("/api/schema/?format=json").json()
    lists = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            assert all(p.get("schema") for p in parameters.values()), (method, path)
            for p in parameters.values():
                assert set(p["schema"]) & {"type", "$ref", "oneOf", "allOf", "enum"}, (
                    method, path, p["name"],
                )  # fmt: skip
            assert {"401", "403", "404", "429"} <= set(operation["responses"]), (method, path)
            if "cursor" in parameters:
                lists += 1
                assert "ordered by" in parameters["cursor"]["description"], path
                assert "page_size" in parameters, path
            if method == "post":
                assert parameters["Idempotency-Key"]["in"] == "header", path
            if method in {"put", "patch", "delete"}:
                assert parameters["If-Match"]["in"] == "header", path
                assert "412" in operation["responses"], (method, path)
    assert lists >= 6  # customers, interactions, flags, cases, complaints, quality reviews
