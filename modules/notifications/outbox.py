"""Delivery of the modules' outboxes (subscriber, partner and staff notices) by email and SMS.

Each module keeps its own outbox table — the durable record that a notice was due — and
registers an `Outbox` describing it. `deliver_pending` sends what is queued: rows are taken
with SKIP LOCKED, so two workers never send the same row; a failing provider is retried on
later runs up to `MAX_ATTEMPTS`; a switched-off channel marks the row skipped, not failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from modules.notifications import channels

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Envelope:
    tenant_id: int
    channel: str
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class Outbox:
    """How to read one module's outbox: its pending rows and each row's envelope."""

    name: str
    pending: Callable[[], QuerySet]  # rows not yet sent, oldest first, below MAX_ATTEMPTS
    envelope: Callable[[object], Envelope]
    sent_status: str | None = "sent"  # None: the table has no status column
    failed_status: str | None = "failed"
    skipped_status: str | None = "skipped"
    # Rows whose text must not outlive delivery (one-time sign-in codes): emptied once settled.
    secret: Callable[[object], bool] | None = None


_OUTBOXES: dict[str, Outbox] = {}


def register(outbox: Outbox) -> None:
    _OUTBOXES[outbox.name] = outbox


def outboxes() -> list[Outbox]:
    return list(_OUTBOXES.values())


def _settle(outbox: Outbox, row, envelope: Envelope, configs: dict, now) -> str:
    if envelope.tenant_id not in configs:
        configs[envelope.tenant_id] = channels.tenant_channels(envelope.tenant_id)
    try:
        channels.deliver(configs[envelope.tenant_id], envelope.channel, envelope.to,
                         envelope.subject, envelope.body)
    except channels.ChannelOff as off:
        row.attempts, row.last_error = MAX_ATTEMPTS, str(off)[:255]
        if outbox.skipped_status:
            row.status = outbox.skipped_status
        return "skipped"
    except channels.DeliveryError as failure:
        row.attempts += 1
        row.last_error = str(failure)[:255]
        if row.attempts >= MAX_ATTEMPTS and outbox.failed_status:
            row.status = outbox.failed_status
        return "failed" if row.attempts >= MAX_ATTEMPTS else "retry"
    row.attempts += 1
    row.sent_at, row.last_error = now, ""
    if outbox.sent_status:
        row.status = outbox.sent_status
    return "sent"


def deliver_outbox(outbox: Outbox, *, batch_size: int = 50, limit: int = 1000) -> dict[str, int]:
    """Send up to `limit` pending rows of one outbox, a locked batch per transaction."""
    tally = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    configs: dict[int, object] = {}
    done, seen = 0, set()
    while done < limit:
        with transaction.atomic():
            rows = [row for row in outbox.pending().exclude(pk__in=seen)
                    .select_for_update(skip_locked=True, of=("self",))[:batch_size]]
            if not rows:
                break
            now = timezone.now()
            fields = {"attempts", "last_error", "sent_at"}
            for row in rows:
                outcome = _settle(outbox, row, outbox.envelope(row), configs, now)
                tally[outcome] += 1
                seen.add(row.pk)  # a row left for a retry waits for the next run
                if outbox.secret is not None and outcome != "retry" and outbox.secret(row):
                    row.body = "(one-time content removed after delivery)"
                    fields.add("body")
            if outbox.sent_status:
                fields.add("status")
            type(rows[0]).objects.bulk_update(rows, sorted(fields))
        done += len(rows)
    return tally


def deliver_pending(**kwargs) -> dict[str, dict[str, int]]:
    return {outbox.name: deliver_outbox(outbox, **kwargs) for outbox in outboxes()}
