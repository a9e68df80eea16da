from django.apps import AppConfig


class SelfcareConfig(AppConfig):
    name = "modules.selfcare"
    label = "selfcare"
    verbose_name = "Subscriber self-care"

    def ready(self):
        from modules.billing.notify import register_pay_link
        from modules.selfcare.selectors import pay_link

        register_pay_link(pay_link)  # the link in expiry reminders
