"""Periodic support jobs (created in django-celery-beat after `migrate`)."""

PERIODIC_TASKS = [
    {
        "name": "Support: flag SLA risks and breaches",
        "task": "support.check_sla",
        "every_seconds": 300,
        "description": "Flags tickets at risk or past their response/resolution targets and "
                       "notifies the assignee and the escalation role. Idempotent.",
    },
]
