"""Deploy-specific limits of the subscribers module (read from Django settings)."""

from django.conf import settings


def import_max_bytes() -> int:
    """Largest import file accepted (SUBSCRIBER_IMPORT_MAX_MB, default 20 MB: ~150k rows)."""
    return int(getattr(settings, "SUBSCRIBER_IMPORT_MAX_MB", 20)) * 1024 * 1024
