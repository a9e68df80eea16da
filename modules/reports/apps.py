from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "modules.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self):
        from modules.reports import receivers  # noqa: F401
