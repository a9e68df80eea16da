"""Small callbacks for the unfold theme."""

from django.conf import settings


def environment_badge(request):
    if settings.DEBUG:
        return ["Development", "warning"]
    return None


def dashboard_callback(request, context):
    """Overview page. Modules contribute their own cards as they are installed."""
    from modules.core.dashboard import overview_cards

    context["overview_cards"] = overview_cards(request)
    return context
