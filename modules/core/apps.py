from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "modules.core"
    label = "core"
    verbose_name = "Organization and access"

    def ready(self):
        from modules.core import schedules, signals  # noqa: F401
        from modules.core.audit import register_audited_models

        register_audited_models()
