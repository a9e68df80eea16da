from django.contrib.auth import logout
from django.utils import timezone

from modules.core.tenancy import tenant_for_host, tenant_timezone


class TenantMiddleware:
    """Sets `request.tenant` from the host name and shows times in the tenant's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = tenant_for_host(request.get_host())
        timezone.activate(tenant_timezone(request.tenant))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class SessionPolicyMiddleware:
    """Keeps a signed-in user on its own tenant and applies the tenant's session timeout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_superuser:
            tenant = request.tenant
            if tenant is None or user.organization is None or (
                user.organization.tenant_id != tenant.pk
            ):
                logout(request)
            else:
                from modules.settings_hub.selectors import security_settings

                timeout = security_settings(tenant).session_timeout_minutes
                request.session.set_expiry(timeout * 60)
        return self.get_response(request)
