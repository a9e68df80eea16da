"""Periodic report jobs (created in django-celery-beat after `migrate`)."""

PERIODIC_TASKS = [
    {
        "name": "Reports: refresh today's collection and revenue roll-ups",
        "task": "reports.refresh_rollups",
        "every_seconds": 300,
        "description": "Recomputes yesterday and today of the daily collection, revenue/tax "
                       "and pool roll-ups that dashboards and reports read. Idempotent.",
    },
    {
        "name": "Reports: nightly roll-up of the last 35 days",
        "task": "reports.refresh_rollups_nightly",
        "crontab": {"minute": "20", "hour": "2"},
        "description": "Recomputes the last 35 days so late cancellations and back-dated "
                       "payments reach the reports. Idempotent.",
    },
]
