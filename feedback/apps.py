from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Customer feedback")

    def ready(self) -> None:
        from common.events import domain_events
        from common.memo import invalidate_on_change
        from feedback.handling import handling_invitations_for_events
        from feedback.models import SurveyRule
        from feedback.services import invitations_plan_for_events

        domain_events.connect(invitations_plan_for_events, dispatch_uid="feedback.plan")
        domain_events.connect(handling_invitations_for_events, dispatch_uid="feedback.handling")
        invalidate_on_change(SurveyRule)  # read per interaction from per-process copies
