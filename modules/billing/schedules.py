"""Billing's periodic jobs, created in django-celery-beat after migrate
(modules/core/schedules.py)."""

PERIODIC_TASKS = [
    {
        "name": "Billing: auto-renew due subscribers",
        "task": "billing.renew_due",
        "every_seconds": 300,
        "description": "Renew subscribers due now from their wallet.",
    },
    {
        "name": "Billing: expire unrenewed subscribers",
        "task": "billing.expire_unrenewed",
        "every_seconds": 300,
        "description": "Expire subscribers past expiry and grace.",
    },
    {
        "name": "Billing: expiry reminders",
        "task": "billing.send_expiry_reminders",
        "crontab": {"minute": "0", "hour": "10"},
        "description": "Remind N days before expiry.",
    },
    {
        "name": "Billing: postpaid bill run",
        "task": "billing.postpaid_bill_run",
        "crontab": {"minute": "30", "hour": "0"},
        "description": "Bill postpaid on the cycle day.",
    },
    {
        "name": "Billing: late fees",
        "task": "billing.apply_late_fees",
        "crontab": {"minute": "0", "hour": "2"},
        "description": "Charge late fees on overdue bills.",
    },
    {
        "name": "Billing: suspend overdue",
        "task": "billing.suspend_overdue",
        "crontab": {"minute": "0", "hour": "3"},
        "description": "Suspend after the overdue grace.",
    },
]
