"""A partner's sync with the Branch CRM API, in the standard library alone: copy it and
adapt it. See docs/integrations.md for the loop it follows.

    export CRM_URL=https://crm.example.com CRM_API_KEY=...
    python examples/sync.py push customers customers.json   # a JSON array, batches of 1 000
    python examples/sync.py pull interactions --since 2026-11-30T00:00:00Z

`pull` prints one JSON line per changed record (deleted ones carry `deleted: true`) and,
last, `{"watermark": ...}`: pass it as `--since` next time. `push` prints the bulk results.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

BATCH = 1000  # the API's limit per bulk request
# A change is stamped when it is made and seen when its transaction commits: each pull
# starts this much before the last one ended, and reads a few rows twice (harmless for an
# upsert by id) rather than miss one that committed late.
OVERLAP = timedelta(seconds=5)
RETRIED = {429, 500, 502, 503, 504}


class Crm:
    """An API key's view of the CRM: calls retried with back-off on 429 and 5xx."""

    def __init__(self, base_url: str, key: str, *, retries: int = 5, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.retries = retries
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """The status and the decoded JSON answer. A POST is only retried when it carries
        an Idempotency-Key: then a retry cannot write twice."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        sent = {"Authorization": f"Api-Key {self.key}", "Accept": "application/json"}
        sent.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        may_retry = method != "POST" or "Idempotency-Key" in sent
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(url, data=data, headers=sent, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    return answer.status, _decoded(answer.read())
            except urllib.error.HTTPError as error:
                if error.code not in RETRIED or not may_retry or attempt == self.retries:
                    return error.code, _decoded(error.read())
                wait = _retry_after(error.headers.get("Retry-After"), attempt)
            except (urllib.error.URLError, TimeoutError):
                if not may_retry or attempt == self.retries:
                    raise
                wait = _retry_after(None, attempt)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def push(self, resource: str, items: list[dict[str, Any]], run: str) -> list[dict[str, Any]]:
        """Upsert ``items`` (each with its `source` and `external_id`) in batches; each batch
        has a key derived from ``run`` and its number, so re-running the same run after a
        crash replays what was already written instead of writing it again."""
        results = []
        for start in range(0, len(items), BATCH):
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run}:{resource}:{start}"))
            status, answer = self.call(
                "POST",
                f"/api/v1/{resource}/bulk/",
                body=items[start : start + BATCH],
                headers={"Idempotency-Key": key},
            )
            if status != 200:
                raise RuntimeError(f"{resource} batch at {start}: {status} {answer}")
            results.append(answer)
        return results

    def pull(self, resource: str, since: str | None, page_size: int = 500) -> Iterator[dict]:
        """Every record changed at or after ``since`` (all of them without it), deletions
        included, in the API's sync order, page by page to the end."""
        if since:
            since = (datetime.fromisoformat(since) - OVERLAP).isoformat()
        query: dict[str, Any] = {
            "updated_after": since,
            "include_deleted": "true",
            "page_size": page_size,
        }
        while True:
            status, page = self.call("GET", f"/api/v1/{resource}/", query=query)
            if status != 200:
                raise RuntimeError(f"{resource}: {status} {page}")
            yield from page["results"]
            if page["next"] is None:  # the last page; `cursor` marks where it ended
                return
            query["cursor"] = page["cursor"]


def verify_webhook(
    secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether a delivery is the CRM's: ``X-Signature: t=<unix time>,v1=<hex>`` where the
    hex is HMAC-SHA256 of ``"<t>." + body`` keyed with the subscription's secret, and ``t``
    within ``tolerance`` seconds of now (an old delivery replayed is refused)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def _moment(value: str) -> str:
    """An ISO 8601 time with its zone, as the API gives and takes them."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone too (Z or +07:00): {value!r}")
    return value


def _decoded(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def _retry_after(header: str | None, attempt: int) -> float:
    """The server's Retry-After if it gave one, else 1, 2, 4 … seconds (at most 60)."""
    if header and header.isdigit():
        return float(header)
    return float(min(2**attempt, 60))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sync with the Branch CRM API.")
    commands = parser.add_subparsers(dest="command", required=True)
    push = commands.add_parser("push", help="upsert records from a JSON file")
    push.add_argument("resource", choices=["customers", "interactions"])
    push.add_argument("file")
    push.add_argument("--run", help="a name for this run (re-use it to resume one)")
    pull = commands.add_parser("pull", help="print the records changed since a time")
    pull.add_argument("resource", choices=["customers", "interactions"])
    pull.add_argument("--since", type=_moment, help="the watermark the last pull printed")
    options = parser.parse_args(argv)
    url, key = os.environ.get("CRM_URL"), os.environ.get("CRM_API_KEY")
    if not url or not key:
        print("Set CRM_URL and CRM_API_KEY.", file=sys.stderr)
        return 2
    crm = Crm(url, key)
    if options.command == "push":
        with open(options.file, encoding="utf-8") as source:
            items = json.load(source)
        run = options.run or options.file
        for answer in crm.push(options.resource, items, run):
            print(json.dumps({k: answer[k] for k in ("created", "updated", "unchanged", "errors")}))
        return 0
    watermark = options.since
    for record in crm.pull(options.resource, options.since):
        print(json.dumps(record))
        watermark = max(watermark or "", record["updated_at"])
    print(json.dumps({"watermark": watermark}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
