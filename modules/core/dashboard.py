"""The overview cards on the dashboard: figures from the user's own scope only."""

from modules.core import scope
from modules.core.models import User


def overview_cards(request) -> list[dict]:
    user = request.user
    orgs = scope.allowed_organizations(user)
    cards = [
        {"title": "Organizations in your scope", "value": orgs.count()},
        {"title": "Partners", "value": orgs.filter(depth__gt=1).exclude(kind="branch").count()},
        {
            "title": "Portal users",
            "value": User.objects.filter(organization__in=orgs.values("pk"), is_active=True).count(),
        },
    ]
    return cards
