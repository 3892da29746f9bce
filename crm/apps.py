from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Integrations and webhooks")

    def ready(self) -> None:
        from simple_history.signals import (  # type: ignore[import-untyped]
            pre_create_historical_record,
        )

        import crm.checks  # registers the deploy checks
        import crm.schema
        import crm.tasks  # noqa: F401 - registers the tasks queued by name
        from common.audit import stamp_history_row
        from common.events import domain_events
        from common.memo import invalidate_on_change
        from crm.models import ApiKey, Integration, WebhookSubscription
        from crm.webhooks import outbox_record_events

        # API keys and webhook subscriptions are read per request from per-process copies.
        invalidate_on_change(ApiKey, Integration, Integration.branches.through, WebhookSubscription)

        domain_events.connect(outbox_record_events, dispatch_uid="crm.webhook_outbox")
        pre_create_historical_record.connect(stamp_history_row, dispatch_uid="crm.audit_stamp")
