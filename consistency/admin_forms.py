"""The standard's targets as managers think of them: 80 (%) for a share, +30 for NPS.
The database keeps the fraction (0.8, 0.3) the statistics use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from consistency.models import Metric, Target


class TargetForm(forms.ModelForm):
    target = forms.DecimalField(
        label=_("Target"),
        max_digits=6,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
        help_text=_(
            "In percent (80 means 80 %); for NPS in points from -100 to +100 (30 means +30)."
        ),
    )

    class Meta:
        model = Target
        fields = [
            "metric", "channel", "target", "direction", "min_n", "threshold_seconds", "cusum_h",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            points = (Decimal(str(self.instance.target)) * 100).quantize(Decimal("0.01"))
            shown = formats.number_format(points.normalize(), use_l10n=True)
            nps = self.instance.metric == Metric.NPS
            self.initial["target"] = f"+{shown}" if nps and points > 0 else shown

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        points = data.get("target")
        if points is None:
            return data
        low = -100 if data.get("metric") == Metric.NPS else 0
        if not low <= points <= 100:
            self.add_error(
                "target",
                _("NPS targets run from -100 to +100.")
                if low
                else _("A share runs from 0 to 100 %."),
            )
            return data
        data["target"] = float(points) / 100
        self.instance.target = data["target"]
        return data
