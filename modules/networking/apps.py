from django.apps import AppConfig


class NetworkingConfig(AppConfig):
    name = "modules.networking"
    label = "networking"
    verbose_name = "Networking"

    def ready(self):
        from modules.networking import receivers  # noqa: F401 - connects the lifecycle receivers
