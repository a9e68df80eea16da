"""Read a tenant's settings; a missing row means the defaults."""

from modules.settings_hub.models import GeneralSettings, NotificationSettings, SecuritySettings


def security_settings(tenant) -> SecuritySettings:
    if tenant is None:
        return SecuritySettings()
    return SecuritySettings.objects.filter(tenant=tenant).first() or SecuritySettings(tenant=tenant)


def general_settings(tenant) -> GeneralSettings:
    if tenant is None:
        return GeneralSettings(company_name="ISP Portal")
    found = GeneralSettings.objects.filter(tenant=tenant).first()
    return found or GeneralSettings(tenant=tenant, company_name=tenant.name)


def notification_settings(tenant) -> NotificationSettings:
    found = NotificationSettings.objects.filter(tenant=tenant).first()
    return found or NotificationSettings(tenant=tenant)
