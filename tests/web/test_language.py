"""Which language the staff pages speak: the user's saved choice, else the browser's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from tests.conftest import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()  # the middleware leaves the test's thread in the last language


def _agent(chain: Chain, accept: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=accept)
    client.force_login(chain.agent)
    return client


def test_a_browser_asking_for_indonesian_gets_indonesian(chain: Chain) -> None:
    response = _agent(chain, "id-ID,id;q=0.9,en;q=0.5").get("/log/")
    assert "Catat interaksi" in response.text
    assert '<html lang="id">' in response.text
    assert ">Pelanggan</a>" in response.text
    assert "Keluar</button>" in response.text
    assert response["Content-Language"] == "id"


def test_a_saved_choice_beats_the_browser(chain: Chain) -> None:
    chain.agent.language = "en"
    chain.agent.save()
    response = _agent(chain, "id").get("/log/")
    assert "Log an interaction" in response.text
    assert "Catat interaksi" not in response.text


def test_the_switcher_saves_the_choice_and_returns_to_the_page(chain: Chain) -> None:
    client = _agent(chain)
    page = client.get("/customers/").text
    assert 'action="/language/"' in page
    assert 'value="/customers/"' in page
    response = client.post("/language/", {"language": "id", "next": "/customers/?q=a"})
    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=a"
    chain.agent.refresh_from_db()
    assert chain.agent.language == "id"
    assert "Catat interaksi" in client.get("/log/").text
    # On another browser (no cookie, asking for English) the profile still decides.
    assert "Catat interaksi" in _agent(chain, "en").get("/log/").text


def test_the_switcher_refuses_an_unknown_language_and_a_foreign_next(chain: Chain) -> None:
    client = _agent(chain)
    refused = client.post("/language/", {"language": "xx", "next": "/log/"})
    assert refused.status_code == 400
    chain.agent.refresh_from_db()
    assert chain.agent.language == ""
    away = client.post("/language/", {"language": "id", "next": "https://evil.example/"})
    assert away.status_code == 302
    assert away["Location"] == "/"


def test_signed_out_the_choice_lives_in_a_cookie(db: None) -> None:
    client = Client()
    assert client.get("/language/").status_code == 405
    response = client.post("/language/", {"language": "id", "next": "/login/"})
    assert response["Location"] == "/login/"
    assert response.cookies["django_language"].value == "id"
    assert response.cookies["django_language"]["httponly"]
    assert '<html lang="id">' in client.get("/login/").text
