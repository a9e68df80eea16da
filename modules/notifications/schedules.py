"""Notification delivery, created in django-celery-beat after migrate
(modules/core/schedules.py)."""

PERIODIC_TASKS = [
    {
        "name": "Notifications: deliver queued email and SMS",
        "task": "notifications.deliver_pending",
        "every_seconds": 60,
        "description": "Send queued subscriber, partner and staff notices; retry failures.",
    },
]
