"""Portal theme and navigation (django-unfold)."""


UNFOLD = {
    "SITE_TITLE": "modules.core.theme.site_title",
    "SITE_HEADER": "modules.core.theme.site_title",
    "SITE_SUBHEADER": "modules.core.theme.site_subheader",
    "SITE_URL": "/dashboard/index",
    "SITE_SYMBOL": "router",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_BACK_BUTTON": True,
    "ENVIRONMENT": "modules.core.theme.environment_badge",
    "DASHBOARD_CALLBACK": "modules.core.theme.dashboard_callback",
    "LOGIN": {"form": "modules.core.forms.PortalLoginForm"},
    "COMMAND": {"search_models": False},
    "SIDEBAR": {
        "show_search": False,
        "command_search": False,
        "show_all_applications": False,
        "navigation": "modules.core.navigation.sidebar",
    },
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
}

