"""Celery tasks that talk to NAS devices: Disconnect-Request, CoA, and session clean-up.

Every task is idempotent: a session that is already closed is left alone, and a CoA carries
the subscriber's state as it is when the task runs, not when it was queued.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from modules.networking import services
from modules.networking.authorization import DISCONNECT_STATUSES, plan_rate_attributes
from modules.networking.models import CycleUsage, NasDevice, RadiusSession

log = logging.getLogger(__name__)


def coa_client(nas: NasDevice):
    from radius_server.protocol.coa import CoaClient

    return CoaClient(nas.host, nas.secret, port=nas.coa_port, timeout=settings.RADIUS_COA_TIMEOUT,
                     attempts=settings.RADIUS_COA_ATTEMPTS)


def _identity(session: RadiusSession) -> dict:
    """Full session identification (RFC 5176 §3): NAS, user, session id, framed IP, MAC."""
    identity = {"user_name": session.username, "acct_session_id": session.session_id,
                "framed_ip_address": session.framed_ip,
                "calling_station_id": session.calling_station_id or None}
    if session.nas_ip and ":" not in session.nas_ip:
        identity["nas_ip_address"] = session.nas_ip
    return identity


def _live(session_pk: int) -> RadiusSession | None:
    session = (RadiusSession.objects.select_related("nas").filter(pk=session_pk).first())
    if session is None or session.stopped_at is not None or session.nas is None:
        return None
    return session


@shared_task(bind=True, max_retries=2, default_retry_delay=30)
def disconnect_session(self, session_pk: int, reason: str = "") -> str:
    session = _live(session_pk)
    if session is None:
        return "closed"
    result = coa_client(session.nas).disconnect(**_identity(session))
    services.record_coa_result(session.pk, "disconnect", result)
    log.info("disconnect session=%s user=%s reason=%s result=%s", session.pk, session.username,
             reason, "ack" if result.acked else result.error_cause_name or "no answer")
    retriable = not (self.request.called_directly or self.request.is_eager)
    if result.timed_out and retriable and self.request.retries < self.max_retries:
        raise self.retry()
    return "ack" if result.acked else "nak" if result.code else "timeout"


@shared_task
def change_session(session_pk: int, attributes: list) -> str:
    session = _live(session_pk)
    if session is None:
        return "closed"
    result = coa_client(session.nas).change([tuple(a) for a in attributes], **_identity(session))
    services.record_coa_result(session.pk, "coa", result)
    return "ack" if result.acked else "nak" if result.code else "timeout"


@shared_task
def disconnect_subscriber(subscriber_id: int, reason: str = "") -> int:
    sessions = list(services.live_sessions(subscriber_id).values_list("pk", flat=True))
    for pk in sessions:
        disconnect_session(pk, reason)
    return len(sessions)


def _online(subscriber_ids: list[int]) -> list[int]:
    """Those of `subscriber_ids` with a live session, in id order (one query for a batch)."""
    return sorted(set(RadiusSession.objects.filter(
        subscriber_id__in=subscriber_ids, stopped_at__isnull=True)
        .values_list("subscriber_id", flat=True)))


@shared_task
def disconnect_subscribers(subscriber_ids: list[int], reason: str = "") -> int:
    """`disconnect_subscriber` for each subscriber of a batch that has a live session."""
    online = _online(subscriber_ids)
    for subscriber_id in online:
        disconnect_subscriber(subscriber_id, reason)
    return len(online)


@shared_task
def reauthorize_subscriber(subscriber_id: int, reason: str = "") -> dict:
    """Bring live sessions in line with the subscriber's state: cut, throttle or restore."""
    from modules.subscribers.models import Subscriber

    subscriber = Subscriber.objects.select_related("plan").filter(pk=subscriber_id).first()
    sessions = list(services.live_sessions(subscriber_id).select_related("nas"))
    if subscriber is None or not sessions:
        return {}
    now = timezone.now()
    plan = subscriber.plan
    expired = subscriber.expires_at is not None and subscriber.expires_at < now
    exhausted = CycleUsage.objects.filter(subscriber_id=subscriber_id, exhausted=True,
                                          boosted=False).order_by("-cycle_start").exists()
    throttled = subscriber.status == "limited" or exhausted
    results = {}
    for session in sessions:
        if (subscriber.status in DISCONNECT_STATUSES or expired or plan is None
                or (throttled and plan.fup_action == "block")):
            results[session.pk] = disconnect_session(session.pk, reason)
            continue
        attributes = plan_rate_attributes(
            plan, session.nas.vendor if session.nas else "other", throttled=throttled,
            download_kbps=None if throttled else subscriber.speed_override_down_kbps,
            upload_kbps=None if throttled else subscriber.speed_override_up_kbps, for_coa=True)
        results[session.pk] = change_session(session.pk, attributes)
        services.set_session_throttled(session.pk, throttled)
    return results


@shared_task
def reauthorize_subscribers(subscriber_ids: list[int], reason: str = "") -> int:
    """`reauthorize_subscriber` for each subscriber of a batch that has a live session."""
    online = _online(subscriber_ids)
    for subscriber_id in online:
        reauthorize_subscriber(subscriber_id, reason)
    return len(online)


@shared_task
def apply_quota_events(events: list[dict]) -> int:
    """After accounting crossed 80/90/100 % of a quota: send the notices, limit at 100 %."""
    for event in events:
        for threshold in event["thresholds"]:
            services.send_usage_alert(event["subscriber_id"], threshold, event["octets"],
                                      event["limit"])
        if event["exhausted_now"]:
            services.quota_exhausted(event["subscriber_id"])
    return len(events)


@shared_task
def close_stale_sessions() -> int:
    """Sessions silent for three interim intervals are closed and their addresses freed."""
    return services.close_stale_sessions()
