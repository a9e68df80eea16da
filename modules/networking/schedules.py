"""Periodic jobs of the networking module (created in celery beat's tables after migrate)."""

PERIODIC_TASKS = [
    {
        "name": "Close stale RADIUS sessions",
        "task": "modules.networking.tasks.close_stale_sessions",
        "every_seconds": 300,
        "description": "Closes sessions with no accounting for three interim intervals and "
                       "frees their addresses.",
    },
]
