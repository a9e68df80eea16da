from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "modules.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self):
        from modules.billing import (  # noqa: F401 - receivers connect the event receivers
            lists,
            notify,
            receivers,
            subscriber_tabs,
        )

        lists.register()
        notify.register_outbox()
        subscriber_tabs.register()
        from modules.billing.selectors import expiry_policy
        from modules.plans.services import register_expiry_policy

        register_expiry_policy(expiry_policy)  # expiry time of day and calendar cycle
