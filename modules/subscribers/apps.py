from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "modules.subscribers"
    label = "subscribers"
    verbose_name = "Subscribers"
