"""Static files as browsers get them: the icon, and plotly.js compressed and cached."""

from __future__ import annotations

import gzip
import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import Client, RequestFactory, override_settings
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
YEAR = 365 * 24 * 3600


def static_settings(module: str, static_root: Path) -> dict[str, Any]:
    """The static-file settings of a settings module (production's are base's)."""
    settings = importlib.import_module(module)
    return {
        "STATIC_ROOT": static_root,
        "STORAGES": settings.STORAGES,
        "WHITENOISE_USE_FINDERS": getattr(settings, "WHITENOISE_USE_FINDERS", False),
        "WHITENOISE_AUTOREFRESH": getattr(settings, "WHITENOISE_AUTOREFRESH", False),
    }


@pytest.mark.parametrize("module", ["crm.settings.local", "crm.settings.base"])
def test_plotly_js_is_served_gzipped_and_cached_for_a_year(module: str, tmp_path: Path) -> None:
    """make run's settings (and production's) after collectstatic: the 4.8 MB plotly.js the
    chart pages load travels gzipped, and the browser keeps it instead of fetching it again."""
    with override_settings(**static_settings(module, tmp_path)):
        call_command("collectstatic", interactive=False, verbosity=0)
        page = render_to_string("base.html", {"plotly": True}, request=RequestFactory().get("/"))
        src = re.search(r'<script src="([^"]*plotly[^"]*)"', page)
        assert src, "the chart pages load no plotly.js"
        response = Client().get(src[1], HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] in {"gzip", "br"}
    assert "Accept-Encoding" in response.headers["Vary"]
    max_age = re.search(r"max-age=(\d+)", response.headers["Cache-Control"])
    assert max_age, response.headers["Cache-Control"]
    assert int(max_age[1]) >= YEAR
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert len(body) < 2_000_000
    assert gzip.decompress(body) == get_plotlyjs().encode()  # the installed package's copy


def test_make_run_collects_the_static_files_before_serving() -> None:
    recipe = subprocess.run(
        [shutil.which("make") or "make", "-n", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "manage.py collectstatic" in recipe
    assert recipe.index("manage.py collectstatic") < recipe.index("manage.py runserver")


def test_pages_still_load_plotly_before_collectstatic(tmp_path: Path) -> None:
    """The demo's settings with nothing collected (runserver straight after a checkout):
    the pages work with the plain names, served from the packages."""
    with override_settings(**static_settings("crm.settings.local", tmp_path / "empty")):
        page = render_to_string("base.html", {"plotly": True}, request=RequestFactory().get("/"))
        assert static("vendor/plotly.min.js") in page
        response = Client().get(static("vendor/plotly.min.js"))
    assert response.status_code == 200
    assert b"window.Plotly" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_browsers_asking_for_favicon_ico_get_the_icon(db: None) -> None:
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200
    assert icon.headers["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "template", ["registration/login.html", "404.html", "feedback/survey_thanks.html"]
)
def test_every_page_declares_the_icon(template: str) -> None:
    page = render_to_string(template, {}, request=RequestFactory().get("/"))
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link, f"{template} declares no icon"
    response = Client().get(link[1])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml"
