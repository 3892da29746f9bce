"""A small phone scorecard for the quality tests: three items, one of them critical."""

from __future__ import annotations

from datetime import date

from quality.models import Item, Scale, Scorecard, Section


def phone_scorecard(*, code: str = "phone", effective_from: date = date(2020, 1, 1)) -> Scorecard:
    """greets (yes/no, weight 1), tone (1 to 5, weight 1), confirms-amount (yes/no, weight 2,
    critical, N/A allowed); pass mark 0.8."""
    card = Scorecard.objects.create(
        code=code,
        channel="phone",
        text_en="Phone service",
        text_id="Layanan telepon",
        effective_from=effective_from,
        pass_mark=0.8,
    )
    section = Section.objects.create(scorecard=card, position=1, text_en="Call")
    for position, (item_code, weight, scale, allow_na, critical) in enumerate(
        [
            ("greets", 1.0, Scale.YES_NO, False, False),
            ("tone", 1.0, Scale.ONE_TO_FIVE, False, False),
            ("confirms-amount", 2.0, Scale.YES_NO, True, True),
        ],
        start=1,
    ):
        Item.objects.create(
            section=section,
            position=position,
            code=item_code,
            text_en=item_code.replace("-", " ").capitalize(),
            weight=weight,
            scale=scale,
            allow_na=allow_na,
            critical=critical,
        )
    return card
