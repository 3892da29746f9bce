"""Scorecards: versioned checklists of sections and items, in English and Indonesian."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from customers.models import Channel
from interactions.models import Moment


class Bilingual(models.Model):
    """A text staff read in English or Indonesian (the checklist of a scorecard)."""

    text_en = models.CharField(_("text (English)"), max_length=200)
    text_id = models.CharField(_("text (Indonesian)"), max_length=200, blank=True, default="")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """In the active language, English where no Indonesian was given."""
        if translation.get_language() == "id" and self.text_id:
            return self.text_id
        return self.text_en


class Scorecard(Bilingual):
    """One version of a checklist (``code`` names the checklist across its versions)."""

    code = models.SlugField(_("code"), max_length=40)
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=Channel.choices,
        blank=True,
        default="",
        help_text=_("The channel it reviews; blank for any."),
    )
    effective_from = models.DateField(_("effective from"))
    pass_mark = models.FloatField(
        _("pass mark"),
        default=0.8,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("The score (0 to 1) a review needs to pass."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["code", "-effective_from"]
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"], name="scorecard_version"),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0, pass_mark__lte=1), name="scorecard_pass_mark_share"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.effective_from})"


class Section(Bilingual):
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="sections", verbose_name=_("scorecard")
    )
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["scorecard", "position"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "position"], name="section_position")
        ]


class Scale(models.TextChoices):
    YES_NO = "yes_no", _("Yes / no")
    ONE_TO_FIVE = "one_to_five", _("1 to 5")


class Item(Bilingual):
    """One thing the reviewer checks ("confirms the amount"). A failed critical item sets
    the review's score to 0."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="items", verbose_name=_("section")
    )
    # The section's scorecard, kept here so that a code is unique in a version.
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.CASCADE, related_name="items", editable=False
    )
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.SlugField(
        _("code"), max_length=40, help_text=_("The same across versions (e.g. confirms-amount).")
    )
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0.01)])
    scale = models.CharField(_("scale"), max_length=16, choices=Scale.choices, default=Scale.YES_NO)
    allow_na = models.BooleanField(_("N/A allowed"), default=False)
    critical = models.BooleanField(_("critical"), default=False)
    moment = models.ForeignKey(
        Moment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moment of truth"),
    )

    class Meta:
        ordering = ["section__position", "position"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            models.UniqueConstraint(fields=["section", "position"], name="item_position"),
            models.UniqueConstraint(fields=["scorecard", "code"], name="item_code_per_version"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="item_weight_positive"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.scorecard_id = self.section.scorecard_id
        super().save(*args, **kwargs)
