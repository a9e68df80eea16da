from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "modules.partners"
    label = "partners"
    verbose_name = "Partners"
