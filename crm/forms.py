"""The form renderer every page uses, and the language switcher's form."""

from django import forms
from django.conf import settings
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _


class FormRenderer(TemplatesSetting):
    """Fields rendered by crm/field.html: one wrapper per field for layout and labels."""

    field_template_name = "crm/field.html"


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)
