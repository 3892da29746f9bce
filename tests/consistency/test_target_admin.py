"""The admin shows and takes the standard's targets as people say them: 80 %, NPS +30."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from consistency.admin_forms import TargetForm
from consistency.models import Metric, Standard, Target
from tests.conftest import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()


def _form(target: Target, value: str) -> TargetForm:
    data = {
        "metric": target.metric, "channel": target.channel, "target": value,
        "direction": target.direction, "min_n": target.min_n,
        "threshold_seconds": target.threshold_seconds or "", "cusum_h": target.cusum_h,
    }  # fmt: skip
    return TargetForm(data, instance=target)


def test_the_standard_page_reads_nps_plus_30_and_shares_in_percent(chain: Chain) -> None:
    standard = Standard.objects.get()
    nps = standard.targets.get(metric=Metric.NPS, channel="all")
    nps.target = 0.3
    nps.save()
    share = standard.targets.exclude(metric=Metric.NPS).first()
    assert share is not None
    share.target = 0.8
    share.save()
    client = Client()
    client.force_login(chain.admin)
    page = client.get(f"/admin/consistency/standard/{standard.pk}/change/").text
    assert 'value="+30"' in page
    assert 'value="80"' in page
    assert 'value="0.3"' not in page


def test_typed_points_are_stored_as_the_fraction_and_nonsense_is_refused(db: None) -> None:
    standard = Standard.objects.get()
    nps = standard.targets.get(metric=Metric.NPS, channel="all")
    form = _form(nps, "+25")
    assert form.is_valid(), form.errors
    form.save()
    nps.refresh_from_db()
    assert nps.target == pytest.approx(0.25)

    share = standard.targets.exclude(metric=Metric.NPS).first()
    assert share is not None
    too_much = _form(share, "150")
    assert not too_much.is_valid()
    assert "0 to 100 %" in str(too_much.errors["target"])
    assert not _form(nps, "-120").is_valid()
    assert not _form(share, "eighty").is_valid()


def test_in_indonesian_a_decimal_comma_is_understood(db: None) -> None:
    share = Standard.objects.get().targets.exclude(metric=Metric.NPS).first()
    assert share is not None
    with translation.override("id"):
        form = _form(share, "82,5")
        assert form.is_valid(), form.errors
        form.save()
    share.refresh_from_db()
    assert share.target == pytest.approx(0.825)


@pytest.mark.django_db
def test_a_changed_target_shows_each_change_once_in_the_history() -> None:
    from consistency.models import Standard, Target
    from consistency.selectors import standard_history

    standard = Standard.objects.get()
    target = Target.objects.filter(standard=standard).order_by("pk").first()
    assert target is not None
    before = len(standard_history(standard))
    target.min_n = target.min_n + 1
    target.save()
    target.min_n = target.min_n + 1
    target.save()
    entries = standard_history(standard)
    assert len(entries) == before + 2
    label = f"target {target.metric}/{target.channel} changed"
    assert sum(1 for e in entries if e["action"] == label) == 2
