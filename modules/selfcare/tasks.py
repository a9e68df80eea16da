from celery import shared_task

from modules.selfcare import services


@shared_task
def forget_old_sign_in_failures() -> int:
    """Idempotent: a second run finds nothing older than a day to delete."""
    return services.forget_old_failures()
