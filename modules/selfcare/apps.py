from django.apps import AppConfig


class SelfcareConfig(AppConfig):
    name = "modules.selfcare"
    label = "selfcare"
    verbose_name = "Subscriber self-care"
