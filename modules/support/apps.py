from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "modules.support"
    label = "support"
    verbose_name = "Support"

    def ready(self):
        from modules.support.services.common import register_outbox

        register_outbox()
