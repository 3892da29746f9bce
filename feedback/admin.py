from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from branches.admin import BranchScopedListFilter, BranchScopedReadOnlyAdmin
from customers.models import Channel
from feedback.models import FeedbackResponse, FollowUp, SurveyInvitation, SurveyRule
from interactions.models import Outcome


class SurveyRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every channel."),
    )
    outcomes = forms.MultipleChoiceField(
        choices=Outcome.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every outcome."),
    )

    class Meta:
        model = SurveyRule
        fields = [
            "name", "is_active", "priority", "channels", "outcomes", "delay_minutes",
            "sampling_rate", "min_days_between", "expiry_days",
        ]  # fmt: skip


@admin.register(SurveyRule)
class SurveyRuleAdmin(admin.ModelAdmin):
    """Which interactions get a survey: HQ edits these."""

    form = SurveyRuleForm

    list_display = [
        "name", "is_active", "priority", "channels", "outcomes", "delay_minutes",
        "sampling_rate", "min_days_between", "expiry_days",
    ]  # fmt: skip
    list_editable = ["is_active", "priority"]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["due_at", "branch", "customer", "complaint", "status", "skip_reason", "sent_at"]
    list_filter = [BranchScopedListFilter, "status"]
    list_select_related = ["branch", "customer", "complaint"]
    exclude = ["token_hash"]


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["received_at", "branch", "source", "nps", "csat", "handling", "comment"]
    list_filter = [BranchScopedListFilter, "source"]
    list_select_related = ["branch"]


@admin.register(FollowUp)
class FollowUpAdmin(BranchScopedReadOnlyAdmin):
    list_display = ["due_at", "branch", "reason", "status", "owner"]
    list_filter = [BranchScopedListFilter, "status"]
    list_select_related = ["branch", "owner"]
