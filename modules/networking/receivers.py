"""Reactions to the subscriber lifecycle: push every change to the live sessions.

Events arrive after the subscriber's transaction committed; the NAS is contacted from a
celery task queued here (on commit of whatever transaction is open now).
"""

from __future__ import annotations

from django.dispatch import receiver

from modules.networking import services
from modules.subscribers import events

CUT = ("suspended", "terminated", "expired", "new")
RATE_CHANGES = ("renew", "change_plan", "topup", "booster", "speed_override", "extend")


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
    services.queue_subscriber_reauthorize(subscriber.pk, change)
