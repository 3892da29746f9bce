"""Staff pages, form errors and messages in Indonesian for a browser that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from customers.forms import CustomerForm
from tests.conftest import Chain
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def indonesian(chain: Chain) -> Iterator[Client]:
    """An agent whose browser asks for Indonesian (and who saved no language of their own)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    client.force_login(chain.agent)
    yield client
    translation.deactivate()  # the middleware leaves the thread in Indonesian


def test_the_log_form_is_in_indonesian(indonesian: Client) -> None:
    page = indonesian.get("/log/").text
    assert "Catat interaksi" in page
    assert "Saluran" in page
    assert "Tatap muka" in page
    assert "Telepon" in page
    assert "Obrolan" in page
    assert "Waktu tunggu (detik)" in page
    assert "antrean kunjungan langsung" in page
    assert "Log an interaction" not in page


def test_a_log_form_error_is_in_indonesian(indonesian: Client, chain: Chain) -> None:
    response = indonesian.post(
        "/log/",
        {"branch": chain.north_a.pk, "channel": "phone", "customer": "new", "outcome": "resolved"},
    )
    assert "Perbaiki isian yang ditandai di bawah" in response.text
    assert "Isi nama pelanggan baru." in response.text


def test_a_logged_interaction_is_confirmed_in_indonesian(indonesian: Client, chain: Chain) -> None:
    customer = CustomerFactory.create(name="Rina Wijaya")
    data = {
        "branch": chain.north_a.pk,
        "channel": "in_person",
        "customer": str(customer.pk),
        "direction": "inbound",
        "outcome": "resolved",
    }
    response = indonesian.post("/log/", data, follow=True)
    assert "Tercatat: tatap muka dengan Rina Wijaya di n-a (selesai)." in response.text


def test_the_customer_search_is_in_indonesian(indonesian: Client) -> None:
    CustomerFactory.create(name="Budi Santoso")
    page = indonesian.get("/customers/", {"q": "Budi"}).text
    assert "Cari pelanggan" in page
    assert "1 hasil untuk “Budi”" in page
    assert "Cabang utama" in page
    assert "Pelanggan baru" in page


def test_the_walk_in_queue_is_in_indonesian(indonesian: Client) -> None:
    page = indonesian.get("/walk-ins/").text
    assert "Pelanggan datang" in page
    assert "Datang: mulai hitung waktu" in page
    assert "Tidak ada yang menunggu." in page
    assert "Nobody is waiting." not in page


def test_the_follow_ups_list_is_in_indonesian(indonesian: Client) -> None:
    page = indonesian.get("/follow-ups/").text
    assert "Tindak lanjut" in page
    assert "Hanya yang terlambat" in page
    assert "Tidak ada tindak lanjut." in page


def test_a_customer_form_error_is_in_indonesian() -> None:
    with translation.override("id"):
        form = CustomerForm(data={"name": "Ani", "phone": "12ab"})
        assert not form.is_valid()
        assert form.errors["phone"] == [
            "Masukkan nomor telepon 6 sampai 20 digit, boleh diawali dengan +."
        ]
        assert "Telepon" in form["phone"].label_tag()


def test_english_stays_the_default(chain: Chain) -> None:
    client = Client()
    client.force_login(chain.agent)
    page = client.get("/walk-ins/").text
    assert "Nobody is waiting." in page
    assert "Tidak ada yang menunggu." not in page


def test_the_admin_names_apps_and_models_in_indonesian(indonesian: Client, admin_user: Any) -> None:
    indonesian.force_login(admin_user)
    page = indonesian.get("/admin/").text
    assert "Umpan balik pelanggan" in page
    assert "Wilayah, cabang, dan staf" in page
    assert "Kunjungan langsung" in page
    assert "Undangan survei" in page
    assert "Survey invitations" not in page
