"""A starter taxonomy of complaint areas and types in English and Indonesian, which HQ
then edits (retiring and replacing, never rewriting). The demo loads it; a chain may load
it once with ``taxonomy_seed()`` and make it its own.

A type may name the moment of truth it usually comes from (by the moment's name, matched
when the moment exists)."""

from __future__ import annotations

from django.db import transaction

from complaints.models import Area, ComplaintType
from interactions.models import Moment

# (area code, English, Indonesian, [(type code, English, Indonesian, moment name or None)])
STARTER: list[tuple[str, str, str, list[tuple[str, str, str, str | None]]]] = [
    (
        "waiting",
        "Waiting",
        "Menunggu",
        [
            ("queue-too-long", "Queue too long", "Antrean terlalu lama", "Wait to be called"),
            ("phone-not-answered", "Phone not answered", "Telepon tidak diangkat", "Agent answers"),
            ("slow-reply", "Slow reply to e-mail or chat", "Balasan e-mail atau chat lambat", None),
        ],
    ),
    (
        "cash",
        "Cash",
        "Uang tunai",
        [
            ("wrong-amount", "Wrong amount", "Jumlah uang salah", "Count the money"),
            ("cheque-delay", "Cheque not cleared in time", "Pencairan cek terlambat", None),
        ],
    ),
    (
        "staff",
        "Staff",
        "Petugas",
        [
            ("unfriendly-staff", "Unfriendly staff", "Petugas tidak ramah", "At the counter"),
            ("wrong-information", "Wrong information given", "Informasi yang diberikan salah",
             "Answer given"),
        ],
    ),
    (
        "fees",
        "Fees",
        "Biaya",
        [("unexpected-fee", "Unexpected fee", "Biaya tidak terduga", None)],
    ),
    (
        "digital",
        "Digital services",
        "Layanan digital",
        [
            ("app-login", "Cannot log in to the app", "Tidak bisa masuk aplikasi", None),
            ("transfer-failed", "Transfer failed", "Transfer gagal", None),
        ],
    ),
    (
        "card",
        "Cards",
        "Kartu",
        [("card-blocked", "Card blocked or swallowed", "Kartu terblokir atau tertelan", None)],
    ),
    (
        "premises",
        "Premises",
        "Fasilitas",
        [("premises", "Premises dirty, hot or crowded", "Ruangan kotor, panas atau penuh", None)],
    ),
]  # fmt: skip


def taxonomy_seed() -> int:
    """Load the starter areas and types that are not there yet (by code); returns how many
    types were made. Running it again changes nothing."""
    moments = {m.name: m for m in Moment.objects.order_by("pk")}
    made = 0
    with transaction.atomic():
        for position, (area_code, area_en, area_id, types) in enumerate(STARTER):
            area, _ = Area.objects.get_or_create(
                code=area_code,
                defaults={"name_en": area_en, "name_id": area_id, "position": position},
            )
            for code, name_en, name_id, moment in types:
                if ComplaintType.objects.filter(code=code, retired_at__isnull=True).exists():
                    continue
                ComplaintType.objects.create(
                    area=area,
                    code=code,
                    name_en=name_en,
                    name_id=name_id,
                    moment=moments.get(moment) if moment else None,
                )
                made += 1
    return made
