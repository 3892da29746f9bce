from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA timezone (e.g. Europe/Paris).")


class Region(models.Model):
    code = models.SlugField(verbose_name=_("code"), max_length=32, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=120)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Branch(models.Model):
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="branches"
    )
    code = models.SlugField(verbose_name=_("code"), max_length=32, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=120)
    timezone = models.CharField(
        verbose_name=_("timezone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    is_active = models.BooleanField(verbose_name=_("is active"), default=True)
    peer_group = models.SlugField(
        verbose_name=_("peer group"),
        max_length=32,
        blank=True,
        default="",
        help_text=_(
            "Branches like it (format or size band: flagship, standard, kiosk …). The "
            "peer test pools within the group when 8 or more of its branches have enough data."
        ),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    REGIONAL_MANAGER = "regional_manager", _("Regional manager")
    ADMIN = "admin", _("HQ admin")


class User(AbstractUser):
    """A staff member. What they may see follows from role + memberships (branches.access)."""

    role = models.CharField(
        verbose_name=_("role"), max_length=32, choices=Role.choices, default=Role.AGENT
    )
    branches = models.ManyToManyField(
        Branch, verbose_name=_("branches"), blank=True, related_name="staff"
    )
    regions = models.ManyToManyField(
        Region, verbose_name=_("regions"), blank=True, related_name="staff"
    )
    # The staff pages' language; blank follows the browser (its Accept-Language).
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Blank: the language the browser asks for."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username
