from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "modules.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self):
        from modules.billing import lists, receivers  # noqa: F401 - connects the event receivers

        lists.register()
