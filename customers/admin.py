from django.contrib import admin

from common.admin import AuditHistoryAdminMixin, DeletedFilter, SoftDeleteAdminMixin
from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(AuditHistoryAdminMixin, SoftDeleteAdminMixin, admin.ModelAdmin):
    """Customers are chain-wide: every staff member sees the same record."""

    list_display = ["name", "email", "phone", "home_branch", "preferred_channel", "updated_at"]
    list_filter = [DeletedFilter, "preferred_channel", "consent_marketing", "consent_surveys"]
    search_fields = ["name", "email", "phone", "external_id"]
    list_select_related = ["home_branch"]
    autocomplete_fields = ["home_branch"]
    readonly_fields = ["created_at", "updated_at", "deleted_at"]
    show_full_result_count = False
