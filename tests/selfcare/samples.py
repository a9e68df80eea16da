from modules.selfcare.models import PortalSettings
from tests.samples import sample


@sample("selfcare.portalsettings")
def portal_settings(org):
    return PortalSettings.objects.get_or_create(tenant=org.tenant)[0]
