from django.apps import AppConfig


class ConsistencyConfig(AppConfig):
    name = "consistency"
