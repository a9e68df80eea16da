"""Reactions to the subscriber lifecycle: push every change to the live sessions.

Events arrive after the subscriber's transaction committed; the NAS is contacted from a
celery task queued here (on commit of whatever transaction is open now).
"""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from modules.networking import services
from modules.subscribers import events

CUT = ("suspended", "terminated", "expired", "new")
RATE_CHANGES = ("renew", "change_plan", "topup", "booster", "speed_override", "extend")


def _renewed_after_expiry(change: str, details: dict | None) -> bool:
    """A renewal of a subscriber already past expiry: any live session of it was let in after
    expiry, i.e. into the walled garden (restricted pool and rate). A CoA cannot move it to a
    real address, so it is disconnected and the CPE reconnects at once with full service."""
    old = (details or {}).get("old_expires_at")
    return change == "renew" and old is not None and old <= timezone.now()


@receiver(events.status_changed, dispatch_uid="networking.status_changed")
def on_status_changed(*, subscriber, old_status, new_status, action="", reason="", **_):
    if new_status in CUT:
        services.queue_subscriber_disconnect(subscriber.pk, action or new_status)
    elif new_status == "limited" or old_status == "limited":
        services.queue_subscriber_reauthorize(subscriber.pk, action or new_status)


@receiver(events.service_changed, dispatch_uid="networking.service_changed")
def on_service_changed(*, subscriber, change, details=None, **_):
    if change not in RATE_CHANGES:
        return
    if change in ("topup", "booster"):
        extra = 0
        addon_id = (details or {}).get("addon_id")
        if addon_id:
            from modules.subscribers.models import SubscriberAddon

            quota_mb = (SubscriberAddon.objects.filter(pk=addon_id)
                        .values_list("quota_mb", flat=True).first())
            extra = (quota_mb or 0) * 1048576
        services.add_cycle_quota(subscriber, extra_octets=extra, boost=change == "booster")
    if _renewed_after_expiry(change, details):
        services.queue_subscriber_disconnect(subscriber.pk, "renewed")
        return
    services.queue_subscriber_reauthorize(subscriber.pk, change)


@receiver(events.services_changed, dispatch_uid="networking.services_changed")
def on_services_changed(*, subscribers, change, old_statuses=None, details=None, **_):
    """A batch change (the auto-renewal run): one queued task re-authorizes, per subscriber, the
    live sessions of the batch, as `on_service_changed` would one by one."""
    if change not in RATE_CHANGES or change in ("topup", "booster"):
        return
    details = details or {}
    restored = {s.pk for s in subscribers if _renewed_after_expiry(change, details.get(s.pk))}
    services.queue_disconnect_many(sorted(restored), "renewed")
    services.queue_reauthorize_many([s.pk for s in subscribers if s.pk not in restored], change)
