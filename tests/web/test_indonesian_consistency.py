"""The consistency pages and e-mails in Indonesian, on the demo chain: headings, verdict
words, numbers with a decimal comma, dates as "9 Nov 2026", form errors; the charts' data
stays machine-readable."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from branches.models import User
from consistency.models import Case, CaseEvent
from consistency.notifications import case_events_notify, cases_weekly_digest

pytestmark = pytest.mark.django_db
WEEK = {"period": "2026-11-09"}  # the demo's last week
MONTHS = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()  # the middleware leaves the test's thread in Indonesian


def indonesian(username: str) -> Client:
    """A user whose browser asks for Indonesian (and who saved no language of their own)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    client.force_login(User.objects.get(username=username))
    return client


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match[0] if match.lastindex is None else match[1]


def chart(page: str, chart_id: str) -> dict:
    return json.loads(found(rf'id="{chart_id}"[^>]*>(.*?)</script>', page))


def test_the_comparison_is_in_indonesian(demo: dict) -> None:
    page = indonesian("rm.east").get("/comparison/", WEEK).text
    assert "<h1>Perbandingan cabang: " in page
    assert "Minggu ISO mulai 9 Nov 2026" in page
    assert "Semua saluran" in page
    assert "Tingkat keluhan" in page  # a column
    row = found(r"eas-04</a>.*?</tr>", page)
    assert "vs standar: alarm (melewati 99,8 %)" in row  # its complaint rate
    assert re.search(r"<span>\d+,\d %</span>", row)  # a rate with a decimal comma
    assert "data tidak cukup" in found(r"eas-08</a>.*?</tr>", page)
    assert "Indeks konsistensi jaringan" in page
    assert "vs standard" not in page
    # The chart's numbers stay JSON numbers, its names in Indonesian.
    index = chart(page, "index-data")
    assert index["data"][0]["name"] == "Indeks konsistensi"
    assert all(isinstance(y, int | float) for y in index["data"][0]["y"] if y is not None)


def test_the_funnel_plot_is_in_indonesian(demo: dict) -> None:
    page = indonesian("admin").get("/funnel/", {"metric": "complaint_rate", **WEEK}).text
    assert "<h1>Grafik corong: Tingkat keluhan</h1>" in page
    assert "Cabang yang digambarkan, yang terjauh dari target lebih dulu" in page
    figure = chart(page, "funnel-data")
    names = {trace["name"] for trace in figure["data"]}
    assert {"Standar 95 %", "Standar 99,8 %", "Sejawat 95 %", "Target", "Cabang"} <= names
    assert figure["layout"]["xaxis"]["title"]["text"] == "Kontak (n)"
    points = next(t for t in figure["data"] if t["name"] == "Cabang")
    assert all(isinstance(y, float | int) for y in points["y"])
    # A bad choice: the page says so in Indonesian, with Django's own field error.
    bad = indonesian("admin").get("/funnel/", {"metric": "speed"})
    assert bad.status_code == 400
    assert "Halaman ini tidak dapat ditampilkan" in bad.text
    assert "Masukkan pilihan yang valid. speed bukan salah satu" in bad.text


def test_a_branch_page_is_in_indonesian(demo: dict) -> None:
    page = indonesian("bm.nor-05").get("/branches/nor-05/", WEEK).text
    assert "Minggu ISO mulai 9 Nov 2026" in page
    assert "Kasus terbuka" in page
    assert "Momen penentu" in page
    assert "Tren terhadap target dan batas 95 % / 99,8 %." in page
    assert "CUSUM (pergeseran): memberi sinyal pada" in page  # the sliding branch's drift
    numbers = found(r"<details><summary>Angka</summary>.*?</details>", page)
    assert "<td>9 Nov 2026</td>" in numbers  # a period in the language's date format
    assert re.search(r"\d+,\d % \u2013 \d+,\d %", numbers)  # limits with decimal commas
    trend = chart(page, "trend-complaint_rate")
    assert trend["data"][0]["name"] == "Batas 99,8 %"
    assert trend["data"][0]["x"][-1] == "2026-11-09"  # the axis keeps ISO days


def test_the_case_queue_is_in_indonesian(demo: dict) -> None:
    client = indonesian("rm.east")
    page = client.get("/cases/").text
    assert "<h1>Kasus</h1>" in page
    assert "Konfirmasi kasus yang dipilih" in page
    assert "Terbuka (tahap apa pun)" in page  # the status filter
    summary = found(r"<small>(Tingkat keluhan di eas-04:.*?)</small>", page)
    assert "dibandingkan standar" in summary
    assert re.search(r"\d+,\d %", summary)  # 7,4 % rather than 7.4 %
    assert "minggu terakhir" in summary
    assert "against" not in summary
    assert re.search(r"<td>\d{1,2} (Sep|Okt|Nov) 2026</td>", page)  # "since", as j M Y
    bad = client.get("/cases/", {"severity": "doom"})
    assert bad.status_code == 400
    assert "perbaiki pilihan di bawah" in bad.text
    nothing = client.post("/cases/acknowledge/", {}, follow=True)
    assert "Centang dulu kasus yang akan dikonfirmasi." in nothing.text


def test_a_case_is_worked_in_indonesian(demo: dict) -> None:
    case = Case.objects.get(branch__code="eas-04", metric="complaint_rate")
    client = indonesian("rm.east")
    page = client.get(f"/cases/{case.pk}/").text
    assert re.search(r"<h1>Tingkat keluhan di <a [^>]+>eas-04</a>", page)
    assert "Tangani kasus ini" in page
    assert "Bukti empat minggu terakhir" in page
    opened = timezone.localtime(case.opened_at)
    assert f"dibuka {opened.day} {MONTHS[opened.month - 1]} {opened.year}" in page  # j M Y
    lead = found(r'<p class="lead" id="case-summary">(.*?)</p>', page)
    assert lead.startswith("Tingkat keluhan di eas-04: ")
    done = client.post(f"/cases/{case.pk}/acknowledge/", {"note": "Sedang dicek"}, follow=True)
    assert "Kasus dikonfirmasi." in done.text
    history = found(r'<ol id="case-history">(.*?)</ol>', done.text)
    assert "sistem · " in history  # the engine opened it
    assert "konfirmasi (terbuka → dikonfirmasi): Sedang dicek" in history
    past = client.post(
        f"/cases/{case.pk}/plan/",
        {"owner": "bm.eas-04", "due_date": "2020-01-01", "plan": "Latih ulang petugas"},
    )
    assert past.status_code == 400
    assert "Tenggat sudah lewat." in past.text
    assert "Bidang ini harus diisi." in client.post(f"/cases/{case.pk}/plan/", {}).text
    empty = client.post(f"/cases/{case.pk}/resolve/", {"note": ""})
    assert "Jelaskan apa yang sudah dilakukan." in empty.text


def test_case_e_mails_speak_each_recipients_language(demo: dict) -> None:
    case = Case.objects.get(branch__code="eas-04", metric="complaint_rate")
    User.objects.filter(username="rm.east").update(language="id")
    User.objects.filter(username="bm.eas-04").update(language="en")
    CaseEvent.objects.update(notify_pending=False)
    CaseEvent.objects.filter(case=case, action="opened").update(notify_pending=True)
    mail.outbox.clear()
    assert case_events_notify() == 2  # one e-mail per language
    by_to = {tuple(m.to): m for m in mail.outbox}
    ours = by_to[("rm.east@demo.example",)]
    assert ours.subject == "[CRM Cabang] Kasus baru: eas-04 Tingkat keluhan"
    assert ours.body.startswith("Tingkat keluhan di eas-04: ")
    assert "Buka kasusnya: " in ours.body
    assert re.search(r"\d+,\d %", str(ours.body))  # "standar 2,0 %"
    english = by_to[("bm.eas-04@demo.example",)]
    assert english.subject == "[Branch CRM] New case: eas-04 Complaint rate"
    assert english.body.startswith(f"{case.summary}.")
    assert "Open the case: " in english.body
    assert translation.get_language() in {None, "en", "en-us"}  # nothing leaks after
    # The weekly digest, too, is in each regional manager's language.
    mail.outbox.clear()
    cases_weekly_digest(now=timezone.now() + timedelta(days=1))
    digest = next(m for m in mail.outbox if m.to == ["rm.east@demo.example"])
    assert digest.subject.startswith("[CRM Cabang] Kasus Anda minggu ini: ")
    assert "kasus terbuka di cabang Anda:" in digest.body
    others = [m for m in mail.outbox if m.to != ["rm.east@demo.example"]]
    assert others
    assert all(m.subject.startswith("[Branch CRM] Your cases this week") for m in others)


def test_the_back_office_of_the_engine_is_in_indonesian(demo: dict) -> None:
    client = indonesian("admin")
    home = client.get("/admin/").text
    for name in ["Indeks konsistensi", "Tanda", "Rekap", "Standar"]:
        assert f">{name}</a>" in home
    flags = client.get("/admin/consistency/flag/").text
    for column in ["Awal periode", "Uji", "Level", "Nilai"]:
        assert re.search(rf'<a href="\?o=[\d.]+">{column}</a>', flags), column
    assert "Tingkat keluhan" in flags
    assert "Terhadap standar" in flags
    index = client.get("/admin/consistency/consistencyindex/").text
    assert "Porsi di dalam batas" in index
    assert re.search(r"<td class=\"field-share_inside\">\d+,\d %</td>", index)
