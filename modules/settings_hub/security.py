"""Sign-in lockout limits for django-axes, read from the request tenant's Security settings."""

from datetime import timedelta

from modules.settings_hub.selectors import security_settings


def failure_limit(request, credentials) -> int:
    return security_settings(getattr(request, "tenant", None)).max_failed_logins


def cooloff_time(request) -> timedelta:
    return timedelta(minutes=security_settings(getattr(request, "tenant", None)).lockout_minutes)
