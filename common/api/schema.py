"""OpenAPI additions (a drf-spectacular postprocessing hook): the problem+json error
responses every operation can give, the ``format`` parameter of CSV-capable lists, the
``Idempotency-Key`` and ``If-Match`` headers writes take, and ``additionalProperties:
false`` on request bodies, which refuse unknown fields."""

from __future__ import annotations

from typing import Any

PROBLEM = {
    "type": "object",
    "description": "An error (RFC 9457 problem details).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "example": "urn:crm:problem:validation-error"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field (validation errors only).",
            "additionalProperties": True,
        },
    },
}
REASONS = {
    "400": "Invalid input: `errors` says which fields and why.",
    "401": "No credentials, or an unknown or revoked API key.",
    "403": "Authenticated, but this key or user may not do this here.",
    "404": "No such record within the caller's reach, or an unknown `format`.",
    "406": "The Accept header asks for a format this endpoint cannot give.",
    "409": "A request with the same Idempotency-Key is still being processed.",
    "412": "If-Match does not match the record's current ETag.",
    "413": "Too many items in one request (at most 1 000), or the body is too large.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "Too many requests: wait for the seconds in Retry-After.",
}


def _codes(method: str, path: str) -> list[str]:
    codes = ["401", "403", "404", "406", "429"]
    if method in {"get", "post", "put", "patch"}:
        codes.append("400")
    if method in {"post", "put", "patch"}:
        codes += ["413", "415"]
    if method == "post":
        codes += ["409", "422"]
    if method in {"put", "patch", "delete"}:
        codes.append("412")
    return codes


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): the same key and request again within 24 h "
    "answers the first response (`Idempotent-Replayed: true`) and writes nothing twice.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag the record had when you read it: the write is refused with 412 "
    "if it has changed since.",
    "schema": {"type": "string"},
}


def _headers(method: str) -> list[dict[str, Any]]:
    """The request headers a write takes, declared so generated clients can send them."""
    if method == "post":
        return [IDEMPOTENCY_KEY]
    if method in {"put", "patch", "delete"}:
        return [IF_MATCH]
    return []


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM
    # Every request body is a StrictSerializer, which refuses fields it does not know.
    for name, component in schemas.items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if path.endswith("/bulk/") and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            for code in _codes(method, path):
                responses.setdefault(
                    code,
                    {
                        "description": REASONS[code],
                        "content": {"application/problem+json": {"schema": problem_ref}},
                    },
                )
            if method != "get":  # only lists export CSV; a write answers in JSON
                for answer in responses.values():
                    answer.get("content", {}).pop("text/csv", None)
                kept = [p for p in operation.get("parameters", []) if p.get("name") != "format"]
                kept += [h for h in _headers(method) if h not in kept]
                if kept:
                    operation["parameters"] = kept
                else:
                    operation.pop("parameters", None)
            ok = responses.get("200", {}).get("content", {})
            if "text/csv" in ok:
                parameters = operation.setdefault("parameters", [])
                # drf-spectacular may have declared it already: one `format`, ours.
                parameters[:] = [
                    p
                    for p in parameters
                    if not (p.get("name") == "format" and p.get("in") == "query")
                ]
                parameters.append(
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "description": "`csv` streams every matching row as CSV instead of a page.",
                        "schema": {"type": "string", "enum": ["json", "csv"]},
                    }
                )
                ok["text/csv"] = {"schema": {"type": "string"}}
    return result
