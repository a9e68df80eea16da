from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "modules.core"
    label = "core"
    verbose_name = "Organization and access"

    def ready(self):
        from modules.core import schedules, signals  # noqa: F401
