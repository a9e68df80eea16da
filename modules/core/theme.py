"""Small callbacks for the unfold theme."""

from django.conf import settings


def site_title(request):
    """The ISP's own name on every page of its portal."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return "ISP Portal"
    if not hasattr(request, "_site_title"):
        from modules.settings_hub.selectors import general_settings

        request._site_title = general_settings(tenant).company_name or tenant.name
    return request._site_title


def site_subheader(request):
    user = getattr(request, "user", None)
    org = getattr(user, "organization", None) if user is not None else None
    return org.name if org is not None and org.depth > 1 else "Operations portal"


def environment_badge(request):
    if settings.DEBUG:
        return ["Development", "warning"]
    return None


def dashboard_callback(request, context):
    """Overview page. Modules contribute their own cards as they are installed."""
    from modules.core.dashboard import overview_cards

    context["overview_cards"] = overview_cards(request)
    return context
