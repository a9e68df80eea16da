from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health endpoint, Prometheus metrics, worker heartbeats."""

    name = "modules.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from modules.ops import metrics

        metrics.connect_celery_signals()
