from django.apps import AppConfig


class ConsistencyConfig(AppConfig):
    name = "consistency"
    verbose_name = "Service consistency"

    def ready(self) -> None:
        import consistency.tasks  # noqa: F401 - registers the tasks queued by name
        from common.events import domain_events
        from consistency.dirty import data_mark_dirty

        domain_events.connect(data_mark_dirty, dispatch_uid="consistency.mark_dirty")
