"""Periodic operations jobs (created in django-celery-beat after `migrate`)."""

PERIODIC_TASKS = [
    {
        "name": "Operations: monthly partitions of the auth log",
        "task": "ops.maintain_partitions",
        "crontab": {"minute": "40", "hour": "3"},
        "description": "Creates the next months' partitions of the partitioned tables and "
                       "drops months older than their retention. Does nothing for tables "
                       "that were not converted. Idempotent.",
    },
]
