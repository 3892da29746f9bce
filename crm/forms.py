"""The form renderer every page uses."""

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Fields rendered by crm/field.html: one wrapper per field for layout and labels."""

    field_template_name = "crm/field.html"
