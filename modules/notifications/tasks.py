from celery import shared_task

from modules.notifications.outbox import deliver_pending


@shared_task(name="notifications.deliver_pending")
def deliver_pending_notices() -> dict:
    """Send every module's queued notices by email / SMS (retries the failed ones)."""
    return deliver_pending()
