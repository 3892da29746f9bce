from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from branches.models import User
from consistency.recompute import consistency_recompute

DEMO_END = date(2026, 11, 16)  # a Monday; the demo's last week starts 2026-11-09


@pytest.fixture
def demo(db: None, tmp_path: Path) -> dict[str, Any]:
    """A small demo chain with its planted divergence, flags computed; returns the truth."""
    truth = tmp_path / "truth.json"
    call_command(
        "seed_demo",
        branches=8,
        weeks=8,
        interactions=12000,
        end=DEMO_END,
        truth_file=truth,
        verbosity=0,
    )
    consistency_recompute()
    return json.loads(truth.read_text())


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client
