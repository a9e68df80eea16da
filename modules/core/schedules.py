"""Periodic jobs for celery beat, created in django-celery-beat's tables after `migrate`.

Each module lists its jobs in `modules/<module>/schedules.py` as PERIODIC_TASKS, a list of
dicts: {"name", "task", and either "every_seconds" or "crontab": {"minute", "hour", ...}}.
Existing rows keep the operator's edits (enabled flag, timing); only missing ones are created.
"""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver


def _module_schedules() -> list[dict]:
    jobs: list[dict] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("modules.") and config.name != "radius_server":
            continue
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.schedules":
                raise
            continue
        jobs.extend(getattr(module, "PERIODIC_TASKS", []))
    return jobs


def ensure_periodic_tasks() -> int:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = 0
    for job in _module_schedules():
        if PeriodicTask.objects.filter(name=job["name"]).exists():
            continue
        fields = {"task": job["task"], "description": job.get("description", "")}
        if "every_seconds" in job:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=job["every_seconds"], period=IntervalSchedule.SECONDS
            )
        else:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(**job["crontab"])
        PeriodicTask.objects.create(name=job["name"], **fields)
        created += 1
    return created


@receiver(post_migrate)
def _create_periodic_tasks(sender, **kwargs):
    if sender.name == "modules.core":
        ensure_periodic_tasks()
