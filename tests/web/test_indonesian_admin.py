"""The admin's column headers, filters and form labels of the domain models in Indonesian;
the English wording stays the one Django derived from the field names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from feedback.models import SurveyRule
from tests.conftest import Chain
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()  # the middleware leaves the test's thread in the last language


def admin_client(chain: Chain, language: str) -> Client:
    """An HQ admin (not a superuser) whose browser asks for this language."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chain.admin)
    return client


def column_headers(page: str) -> list[str]:
    return re.findall(r'<div class="text"><a href="\?o=[^"]*">([^<]+)</a></div>', page)


def filter_titles(page: str) -> list[str]:
    return [title.strip() for title in re.findall(r"<summary>\s*([^<]+?)\s*</summary>", page)]


def test_the_interactions_changelist_is_in_indonesian(chain: Chain) -> None:
    InteractionFactory.create(branch=chain.north_a)
    page = admin_client(chain, "id").get("/admin/interactions/interaction/").text
    assert column_headers(page) == [
        "Terjadi pada",
        "Cabang",
        "Saluran",
        "Pelanggan",
        "Hasil",
        "Waktu tunggu (detik)",
        "Keluhan",
        "CSAT",
        "NPS",
    ]
    titles = filter_titles(page)
    assert "Berdasarkan saluran" in titles
    assert "Berdasarkan hasil" in titles
    assert "Berdasarkan arah" in titles
    assert "By channel" not in page


def test_the_customers_changelist_is_in_indonesian(chain: Chain) -> None:
    InteractionFactory.create(branch=chain.north_a)  # and its customer
    page = admin_client(chain, "id").get("/admin/customers/customer/").text
    assert column_headers(page) == [
        "Nama",
        "Surel",
        "Telepon",
        "Cabang utama",
        "Saluran pilihan",
        "Diperbarui pada",
    ]
    assert "Berdasarkan saluran pilihan" in filter_titles(page)
    assert "Berdasarkan setuju menerima pemasaran" in filter_titles(page)


def test_the_change_forms_label_their_fields_in_indonesian(chain: Chain) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a)
    client = admin_client(chain, "id")
    page = client.get(f"/admin/interactions/interaction/{interaction.pk}/change/").text
    assert '<label for="id_wait_seconds">Waktu tunggu (detik):</label>' in page
    assert '<label for="id_handle_seconds">Waktu penanganan (detik):</label>' in page
    assert "<label>Dibuat pada:</label>" in page  # a read-only stamp of the common models
    assert "Wait seconds" not in page
    customer = interaction.customer
    assert customer is not None
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").text
    assert '<label for="id_home_branch">Cabang utama:</label>' in page
    assert '<label for="id_external_id">ID eksternal:</label>' in page


def test_the_english_admin_keeps_the_derived_wording(chain: Chain) -> None:
    InteractionFactory.create(branch=chain.north_a)
    page = admin_client(chain, "en").get("/admin/interactions/interaction/").text
    assert "Wait seconds" in column_headers(page)
    assert "Occurred at" in column_headers(page)
    assert "By channel" in filter_titles(page)
    page = admin_client(chain, "en").get("/admin/branches/branch/").text
    assert column_headers(page) == ["Code", "Name", "Region", "Timezone", "Is active"]
    assert "By region" in filter_titles(page)


def test_the_branches_and_survey_rules_are_in_indonesian(chain: Chain) -> None:
    SurveyRule.objects.create(name="Semua kontak")
    client = admin_client(chain, "id")
    page = client.get("/admin/branches/branch/").text
    assert column_headers(page) == ["Kode", "Nama", "Wilayah", "Zona waktu", "Aktif"]
    assert "Berdasarkan wilayah" in filter_titles(page)
    page = client.get("/admin/feedback/surveyrule/").text
    assert column_headers(page)[:4] == ["Nama", "Aktif", "Prioritas", "Saluran"]
    assert "Jeda (menit)" in column_headers(page)
