from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from common.events import domain_events
        from common.memo import invalidate_on_change
        from complaints.models import Area, ComplaintType
        from complaints.services import complaints_for_events

        domain_events.connect(complaints_for_events, dispatch_uid="complaints.record")
        invalidate_on_change(ComplaintType, Area)  # the types' names (metric_label)
