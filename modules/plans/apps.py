from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "modules.plans"
    label = "plans"
    verbose_name = "Plans"
