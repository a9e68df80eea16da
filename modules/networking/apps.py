from django.apps import AppConfig


class NetworkingConfig(AppConfig):
    name = "modules.networking"
    label = "networking"
    verbose_name = "Networking"
