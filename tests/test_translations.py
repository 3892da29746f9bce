"""Every message the staff pages, forms, e-mails and admin can show has its Indonesian
translation, compiled: makemessages is run on a copy of each app and nothing may be left
untranslated, fuzzy or missing from the committed .mo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The apps that hold messages (and common, in LOCALE_PATHS); each keeps its catalogue in
# <app>/locale/id/.
APPS = [
    "branches", "customers", "interactions", "complaints", "quality", "consistency", "feedback",
    "crm", "common",
]  # fmt: skip


def _extracted(app: str, tmp_path: Path) -> polib.POFile:
    """The app's catalogue as makemessages would leave it today (merged into a copy)."""
    if shutil.which("xgettext") is None:
        pytest.fail("The translation check needs GNU gettext: apt-get install gettext")
    copy = tmp_path / app
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    (copy / "locale").mkdir(exist_ok=True)
    run = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "django",
            "makemessages",
            "-l",
            "id",
            "--no-obsolete",
            "-v",
            "0",
        ],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "crm.settings.test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    catalogue = copy / "locale/id/LC_MESSAGES/django.po"
    if not catalogue.exists() or catalogue.stat().st_size == 0:
        pytest.fail(f"{app} marks no message for translation")
    return polib.pofile(str(catalogue))


@pytest.mark.parametrize("app", APPS)
def test_every_message_is_translated_to_indonesian(app: str, tmp_path: Path) -> None:
    extracted = _extracted(app, tmp_path)
    untranslated = [e.msgid for e in extracted if not e.translated()]
    assert untranslated == [], (
        f"{app}: {len(untranslated)} messages lack Indonesian: {untranslated[:10]}"
    )

    compiled_path = ROOT / app / "locale/id/LC_MESSAGES/django.mo"
    assert compiled_path.exists(), f"{app}: run compilemessages"
    compiled = {(e.msgctxt, e.msgid): e for e in polib.mofile(str(compiled_path))}
    stale = [
        e.msgid
        for e in extracted
        if (e.msgctxt, e.msgid) not in compiled
        or compiled[(e.msgctxt, e.msgid)].msgstr != e.msgstr
        or compiled[(e.msgctxt, e.msgid)].msgstr_plural != e.msgstr_plural
    ]
    assert stale == [], f"{app}: the .mo is older than the .po for {stale[:5]}"
