from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Integrations and webhooks"

    def ready(self) -> None:
        import crm.schema  # noqa: F401 - registers the API key scheme with drf-spectacular
        from common.events import domain_events
        from crm.webhooks import outbox_record_events

        domain_events.connect(outbox_record_events, dispatch_uid="crm.webhook_outbox")
