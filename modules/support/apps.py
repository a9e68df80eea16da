from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "modules.support"
    label = "support"
    verbose_name = "Support"
