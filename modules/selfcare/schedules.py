"""Periodic jobs of self-care (created in celery beat's tables after migrate)."""

PERIODIC_TASKS = [
    {
        "name": "Forget old self-care sign-in failures",
        "task": "modules.selfcare.tasks.forget_old_sign_in_failures",
        "every_seconds": 3600,
        "description": "Deletes failed self-care sign-ins older than a day; recent ones keep "
                       "counting towards the lockout.",
    },
]
