"""Celery tasks of the operations module."""

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from modules.ops.models import Heartbeat


@shared_task(name="ops.ping", ignore_result=True)
def ping(source: str = "celery", token: str = "") -> None:
    """Record that a worker took a task off the broker and reached the database.

    Idempotent: one row per source, overwritten; running it twice only bumps the counter.
    """
    worker = getattr(ping.request, "hostname", None) or ""
    updated = Heartbeat.objects.filter(source=source).update(
        token=token, worker=worker, seen_at=timezone.now(), pings=F("pings") + 1
    )
    if not updated:
        Heartbeat.objects.get_or_create(
            source=source,
            defaults={"token": token, "worker": worker, "seen_at": timezone.now(), "pings": 1},
        )


@shared_task(name="ops.maintain_partitions", ignore_result=True)
def maintain_partitions() -> dict:
    """Create the coming months' partitions and drop expired ones; idempotent, one at a time."""
    from modules.ops import partitions

    return partitions.maintain()
