from django.apps import AppConfig


class NetworkingConfig(AppConfig):
    name = "modules.networking"
    label = "networking"
    verbose_name = "Networking"

    def ready(self):
        from modules.networking import receivers, subscriber_tabs  # noqa: F401 - receivers connect

        subscriber_tabs.register()
