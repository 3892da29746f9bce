"""The managers' home page, sign-in, error pages, the pager and the admin in Indonesian."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from branches.models import Role, User
from crm.models import ApiKey, Integration
from crm.services import api_key_create
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-1"


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()  # the middleware leaves the test's thread in the last language


def indonesian(user: Any = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    if user is not None:
        client.force_login(user)
    return client


def test_a_regional_managers_home_is_in_indonesian(demo: dict) -> None:
    page = indonesian(User.objects.get(username="rm.east")).get("/").text
    # The week in the language's date format (j M Y), not the English sentence.
    assert "East: minggu mulai 9 Nov 2026" in page
    assert "(minggu penuh terakhir)" in page
    assert re.search(r"Kasus terbuka \(\d+\)", page)
    assert "Seluruh antrean" in page
    assert "Perbandingan cabang</a> (periode, saluran, urutan)" in page
    assert "Grafik corong" in page
    assert "Posisi cabang-cabang" in page
    assert "Open cases" not in page
    assert "week of" not in page


def test_the_pager_is_in_indonesian(demo: dict) -> None:
    client = indonesian(User.objects.get(username="rm.east"))
    first = client.get("/interactions/").text
    assert re.search(r"Halaman 1 dari \d+", first)
    assert "Lebih lama →" in first
    assert "Older" not in first
    second = client.get("/interactions/", {"page": 2}).text
    assert "← Lebih baru" in second
    assert re.search(r"Halaman 2 dari \d+", second)


def test_a_wrong_password_is_refused_in_indonesian(db: None) -> None:
    user = UserFactory.create(role=Role.AGENT, username="loket.1")
    user.set_password(PASSWORD)
    user.save()
    client = indonesian()
    page = client.get("/login/").text
    assert "<h1>Masuk</h1>" in page
    response = client.post("/login/", {"username": "loket.1", "password": "salah"})
    assert response.status_code == 200
    # Django's own sign-in form error, from Django's catalogue.
    assert "sandi yang benar" in response.text
    assert "Please enter a correct" not in response.text


def test_the_lockout_page_is_in_indonesian(db: None) -> None:
    UserFactory.create(role=Role.AGENT, username="loket.2")
    client = indonesian()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/login/", {"username": "loket.2", "password": "salah"})
    assert response.status_code == 429
    assert "Terlalu banyak percobaan masuk" in response.text
    assert f"setelah {settings.AXES_FAILURE_LIMIT} kali salah kata sandi" in response.text
    assert "Kembali ke halaman masuk" in response.text


def test_the_not_found_page_is_in_indonesian(db: None) -> None:
    response = indonesian().get("/no-such-page/")
    assert response.status_code == 404
    assert "<h1>Tidak ditemukan</h1>" in response.text
    assert "Periksa alamatnya" in response.text
    assert "Not found" not in response.text


def test_the_not_allowed_page_says_its_default_in_indonesian(demo: dict) -> None:
    # A regional manager may use the admin but not the integrations' keys.
    response = indonesian(User.objects.get(username="rm.east")).get("/admin/crm/apikey/")
    assert response.status_code == 403
    assert "<h1>Tidak diizinkan</h1>" in response.text
    assert "Peran Anda tidak mengizinkan tindakan ini." in response.text


def test_the_admin_index_names_the_crm_in_indonesian(admin_user: Any) -> None:
    page = indonesian(admin_user).get("/admin/").text
    assert "Integrasi dan webhook" in page
    assert "Kunci API" in page
    assert "Langganan webhook" in page
    assert "Pengiriman webhook" in page
    assert "Integrations and webhooks" not in page


def test_an_admin_action_and_its_message_are_in_indonesian(admin_user: Any) -> None:
    integration = Integration.objects.create(name="Kasir", scopes=["customers:read"])
    api_key, __ = api_key_create(integration=integration)
    client = indonesian(admin_user)
    changelist = client.get("/admin/crm/apikey/").text
    assert "Cabut kunci yang dipilih" in changelist
    assert "Rotasi: kunci baru sekarang" in changelist
    assert "(aktif)" in changelist

    response = client.post(
        "/admin/crm/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
        follow=True,
    )
    assert "1 kunci dicabut." in response.text
    assert "(dicabut)" in response.text
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_the_customer_admin_filters_and_gdpr_actions_are_in_indonesian(admin_user: Any) -> None:
    customer = CustomerFactory.create(name="Sari Dewi")
    client = indonesian(admin_user)
    page = client.get("/admin/customers/customer/").text
    assert "Hapus data pribadi pelanggan yang dipilih (GDPR)" in page
    assert "Ekspor data pelanggan yang dipilih (GDPR, JSON)" in page
    assert ">Dihapus</a>" in page  # the soft-delete filter's choices
    confirm = client.post(
        "/admin/customers/customer/",
        {"action": "erase_gdpr", "_selected_action": [customer.pk]},
    ).text
    assert "Penghapusan tidak dapat dibatalkan." in confirm
    assert 'value="Ya, hapus"' in confirm


def test_the_audit_history_is_in_indonesian_with_the_languages_date(admin_user: Any) -> None:
    customer = CustomerFactory.create(name="Sari Dewi")
    page = indonesian(admin_user).get(f"/admin/customers/customer/{customer.pk}/history/").text
    assert "Riwayat audit (terbaru dahulu)" in page
    assert "<td>dibuat</td>" in page
    # Indonesian DATETIME_FORMAT "j M Y, H.i"; the machine value stays ISO.
    assert re.search(
        r"<time datetime=\"\d{4}-\d\d-\d\dT[^\"]+\">\d{1,2} \w{3} \d{4}, \d\d\.\d\d<", page
    )


def test_a_webhook_url_error_is_in_indonesian_in_the_admin(admin_user: Any) -> None:
    integration = Integration.objects.create(name="Kasir", scopes=["customers:read"])
    response = indonesian(admin_user).post(
        "/admin/crm/webhooksubscription/add/",
        {
            "integration": integration.pk,
            "url": "ftp://example.com/hook",
            "events": '["customer.created"]',
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "Gunakan URL http:// atau https://." in response.text


def test_the_api_keeps_the_same_refusal_in_english(db: None) -> None:
    """Integrations read the API's problem texts: a browser's language does not change them,
    though the admin shows the same refusal in Indonesian."""
    integration = Integration.objects.create(name="Kasir", scopes=["webhooks:manage"])
    __, key = api_key_create(integration=integration)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="id")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": "ftp://example.com/hook", "events": ["customer.created"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["url"] == ["Use an http:// or https:// URL."]
