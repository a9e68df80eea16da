from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "modules.partners"
    label = "partners"
    verbose_name = "Partners"

    def ready(self):
        from modules.partners import receivers  # noqa: F401 - connects the billing receivers
        from modules.partners.sharing import PartnerSharing
        from modules.plans.selectors import register_sharing_rule

        register_sharing_rule(PartnerSharing())
        from modules.partners.notices import register_outbox

        register_outbox()
