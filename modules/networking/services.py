"""Networking business rules: pools and leases, NAS tests, CoA/Disconnect requests, FUP.

Admin actions, the RADIUS server, celery tasks and the subscriber lifecycle all call these.
Anything that talks to a NAS runs in a celery task queued on commit (`tasks.py`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from modules.core.scope import in_scope
from modules.networking.addressing import delegated_prefix, normalize_mac, pool_addresses
from modules.networking.models import (
    CycleUsage,
    Ipv4Lease,
    Ipv4Pool,
    Ipv6Lease,
    Ipv6Pool,
    NasDevice,
    RadiusSession,
    UsageAlert,
)

log = logging.getLogger(__name__)


class NetworkingError(ValueError):
    """A refused networking operation, with a message for the operator."""


def _check_scope(actor, organization) -> None:
    if actor is not None and not in_scope(actor, organization):
        raise PermissionDenied("This object is outside your organization scope.")


# ---------------------------------------------------------------------------------- pools


@transaction.atomic
def sync_pool_addresses(pool: Ipv4Pool) -> dict[str, int]:
    """Make the pool's lease rows match its ranges and exclusions.

    Leased addresses that left the pool stay until released (a live session keeps its IP);
    free ones are removed. Returns counts of added and removed rows.
    """
    wanted = pool_addresses(pool.ranges, pool.exclusions)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO networking_ipv4lease (pool_id, address, session_unique_id) "
            "SELECT %s, a::inet, '' FROM unnest(%s::text[]) AS a "
            "ON CONFLICT (pool_id, address) DO NOTHING",
            [pool.pk, wanted],
        )
        added = cursor.rowcount
        cursor.execute(
            "DELETE FROM networking_ipv4lease WHERE pool_id = %s AND subscriber_id IS NULL "
            "AND NOT (address = ANY(%s::inet[]))",
            [pool.pk, wanted],
        )
        removed = cursor.rowcount
    return {"added": added, "removed": removed}


def _previous_first(subscriber):
    return Case(When(last_subscriber_id=subscriber.pk, then=Value(0)), default=Value(1))


def allocate_address(subscriber, pool: Ipv4Pool, *, nas: NasDevice | None = None,
                     session_unique_id: str = "") -> str | None:
    """Lease an address of `pool` to `subscriber`; None when the pool is full.

    Race-free without a pool-wide lock: the subscriber keeps an address it already holds;
    otherwise the lowest free row (preferring the one it had last) is taken with
    `FOR UPDATE SKIP LOCKED`, so concurrent logins never get the same address and never wait
    on each other.
    """
    now = timezone.now()
    with transaction.atomic():
        held = Ipv4Lease.objects.filter(pool=pool, subscriber=subscriber).first()
        if held is not None:
            return held.address
        free = (Ipv4Lease.objects.select_for_update(skip_locked=True)
                .filter(pool=pool, subscriber__isnull=True)
                .order_by(_previous_first(subscriber), "address")
                .first())
        if free is None:
            return None
        free.subscriber = subscriber
        free.last_subscriber = subscriber
        free.nas = nas
        free.session_unique_id = session_unique_id
        free.leased_at = now
        free.save(update_fields=["subscriber", "last_subscriber", "nas", "session_unique_id",
                                 "leased_at"])
        return free.address


def release_address(*, subscriber_id: int | None = None, address: str | None = None,
                    pool: Ipv4Pool | None = None) -> int:
    """Free the lease(s) of a subscriber (optionally one address or pool). Returns rows freed."""
    leases = Ipv4Lease.objects.filter(subscriber__isnull=False)
    if subscriber_id is not None:
        leases = leases.filter(subscriber_id=subscriber_id)
    if address is not None:
        leases = leases.filter(address=address)
    if pool is not None:
        leases = leases.filter(pool=pool)
    return leases.update(subscriber=None, nas=None, session_unique_id="", leased_at=None)


def allocate_prefix(subscriber, pool: Ipv6Pool) -> str | None:
    """Delegate a prefix of `pool` (sticky per subscriber); None when the pool is exhausted.

    A released row is reused with SKIP LOCKED; a new one takes `next_index` under the pool's
    row lock, so two logins can never get the same prefix.
    """
    now = timezone.now()
    with transaction.atomic():
        held = Ipv6Lease.objects.filter(pool=pool, subscriber=subscriber).first()
        if held is not None:
            return held.prefix
        free = (Ipv6Lease.objects.select_for_update(skip_locked=True)
                .filter(pool=pool, subscriber__isnull=True)
                .order_by(_previous_first(subscriber), "index")
                .first())
        if free is None:
            locked = Ipv6Pool.objects.select_for_update().get(pk=pool.pk)
            if locked.next_index >= locked.capacity:
                return None
            free = Ipv6Lease(pool=locked, index=locked.next_index,
                             prefix=delegated_prefix(locked.prefix, locked.delegated_length,
                                                     locked.next_index))
            Ipv6Pool.objects.filter(pk=pool.pk).update(next_index=locked.next_index + 1)
        free.subscriber = subscriber
        free.last_subscriber = subscriber
        free.leased_at = now
        free.save()
        return free.prefix


def release_prefix(*, subscriber_id: int) -> int:
    return Ipv6Lease.objects.filter(subscriber_id=subscriber_id).update(subscriber=None,
                                                                       leased_at=None)


# ---------------------------------------------------------------------------------- subscriber


def bind_mac(subscriber_id: int, mac: str) -> bool:
    """Bind-on-first-login: store the first MAC seen, only if none is bound yet."""
    mac = normalize_mac(mac)
    if not mac:
        return False
    from modules.subscribers.models import Subscriber

    return bool(Subscriber.objects.filter(pk=subscriber_id, mac_address="").update(mac_address=mac))


# ---------------------------------------------------------------------------------- NAS test


def test_nas(nas: NasDevice, *, actor, timeout: float = 2.0) -> str:
    """Send a Status-Server (RFC 5997, with Message-Authenticator) to the NAS's CoA port.

    Records and returns a one-line result. Many NASes do not answer Status-Server; the
    "last seen" time (any valid RADIUS request from it) is the other half of the check.
    """
    _check_scope(actor, nas.organization)
    from radius_server.protocol import constants as c
    from radius_server.protocol.crypto import message_authenticator, response_authenticator

    secret = nas.secret.encode()
    authenticator = os.urandom(16)
    ident = os.urandom(1)[0]
    body = bytes([c.MESSAGE_AUTHENTICATOR, 18]) + bytes(16)
    packet = bytearray(bytes([c.STATUS_SERVER, ident]) + (20 + len(body)).to_bytes(2, "big"))
    packet += authenticator + body
    # Status-Server keeps its random Request Authenticator; only MA is computed (RFC 5997).
    packet[22:38] = message_authenticator(secret, bytes(packet))
    started = time.monotonic()
    result = "no answer"
    try:
        with socket.socket(socket.AF_INET6 if ":" in nas.host else socket.AF_INET,
                           socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(bytes(packet), (nas.host, nas.coa_port))
            answer, _ = sock.recvfrom(4096)
            if len(answer) >= 20 and answer[1] == ident and response_authenticator(
                    answer, authenticator, secret) == answer[4:20]:
                result = f"answered in {(time.monotonic() - started) * 1000:.0f} ms"
            else:
                result = "answered with a wrong secret or ID"
    except TimeoutError:
        result = "no answer"
    except OSError as exc:
        result = f"unreachable: {exc.strerror or exc}"[:120]
    NasDevice.objects.filter(pk=nas.pk).update(last_test_at=timezone.now(), last_test_result=result)
    return result


# ---------------------------------------------------------------------------------- sessions


def live_sessions(subscriber_id: int):
    return RadiusSession.objects.filter(subscriber_id=subscriber_id, stopped_at__isnull=True)


def request_disconnect(session: RadiusSession, *, actor, reason: str = "") -> None:
    """Queue a Disconnect-Request for a live session (after the caller's transaction commits)."""
    if session.organization_id is not None:
        from modules.core.models import Organization

        _check_scope(actor, Organization.objects.get(pk=session.organization_id))
    elif actor is not None and not actor.is_superuser:
        raise PermissionDenied("This session is outside your organization scope.")
    if session.stopped_at is not None:
        raise NetworkingError("The session is already closed.")
    from modules.networking import tasks

    transaction.on_commit(lambda: tasks.disconnect_session.delay(session.pk, reason))


def queue_subscriber_disconnect(subscriber_id: int, reason: str) -> None:
    from modules.networking import tasks

    transaction.on_commit(lambda: tasks.disconnect_subscriber.delay(subscriber_id, reason))


def queue_subscriber_reauthorize(subscriber_id: int, reason: str) -> None:
    from modules.networking import tasks

    transaction.on_commit(lambda: tasks.reauthorize_subscriber.delay(subscriber_id, reason))


def queue_reauthorize_many(subscriber_ids: list[int], reason: str) -> None:
    """One task for a batch of subscribers (bulk renewals), queued on commit."""
    from modules.networking import tasks

    if subscriber_ids:
        transaction.on_commit(lambda: tasks.reauthorize_subscribers.delay(subscriber_ids, reason))


def queue_disconnect_many(subscriber_ids: list[int], reason: str) -> None:
    """One task disconnecting the live sessions of a batch of subscribers, queued on commit."""
    from modules.networking import tasks

    if subscriber_ids:
        transaction.on_commit(lambda: tasks.disconnect_subscribers.delay(subscriber_ids, reason))


def record_coa_result(session_pk: int, kind: str, result) -> None:
    """Store the NAS's answer (ACK / NAK with Error-Cause / timeout) on the session."""
    if result.acked:
        outcome, error = "ack", ""
    elif result.timed_out:
        outcome, error = "timeout", ""
    else:
        outcome = "nak"
        error = result.error_cause_name or (str(result.error_cause) if result.error_cause else "")
    from modules.networking.accounting import retry_moved_rows

    retry_moved_rows(lambda: RadiusSession.objects.filter(pk=session_pk).update(
        last_coa_at=timezone.now(), last_coa_kind=kind, last_coa_result=outcome,
        last_coa_error=error[:64],
    ))


def set_session_throttled(session_pk: int, throttled: bool) -> None:
    from modules.networking.accounting import retry_moved_rows

    retry_moved_rows(lambda: RadiusSession.objects.filter(pk=session_pk).update(
        throttled=throttled))


def close_sessions(sessions, *, cause: str, now=None) -> int:
    """Close sessions without a Stop (NAS reboot, stale) and free their leases.

    Only open rows are touched (`stopped_at IS NULL`: on a partitioned table, the open
    sessions' partition); closing moves each row into the month of `now`.
    """
    from modules.networking.accounting import retry_moved_rows

    now = now or timezone.now()

    def close() -> int:
        rows = list(sessions.filter(stopped_at__isnull=True).select_for_update(skip_locked=True)
                    .values_list("pk", "subscriber_id", "framed_ip"))
        if not rows:
            return 0
        RadiusSession.objects.filter(pk__in=[r[0] for r in rows], stopped_at__isnull=True
                                     ).update(stopped_at=now, terminate_cause=cause)
        for _pk, subscriber_id, framed_ip in rows:
            if subscriber_id and framed_ip:
                release_address(subscriber_id=subscriber_id, address=framed_ip)
        return len(rows)

    return retry_moved_rows(close)


def close_stale_sessions(*, now=None, grace_intervals: int = 3, interim_seconds: int | None = None,
                         batch: int = 1000) -> int:
    """Close sessions with no accounting for `grace_intervals` interim intervals (idempotent)."""
    from modules.networking.selectors import interim_interval

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=(interim_seconds or interim_interval()) * grace_intervals)
    closed = 0
    while True:
        ids = list(RadiusSession.objects.filter(stopped_at__isnull=True, updated_at__lt=cutoff)
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            return closed
        done = close_sessions(RadiusSession.objects.filter(pk__in=ids), cause="Stale-Session",
                              now=now)
        closed += done
        if done < len(ids):  # the rest is locked by a concurrent run
            return closed


# ---------------------------------------------------------------------------------- FUP


def add_cycle_quota(subscriber, *, extra_octets: int = 0, boost: bool = False) -> CycleUsage | None:
    """A data top-up adds volume to the current cycle; a booster lifts the throttle for it.

    Clears the exhausted flag when the new limit is above the usage and re-authorizes live
    sessions (CoA back to the plan's rate).
    """
    from modules.networking.fup import current_cycle_start

    start = current_cycle_start(subscriber)
    if start is None:
        return None
    with transaction.atomic():
        usage, _ = CycleUsage.objects.select_for_update().get_or_create(
            subscriber=subscriber, cycle_start=start,
            defaults={"organization_id": subscriber.organization_id,
                      "quota_octets": _quota_octets(subscriber)},
        )
        usage.extra_quota_octets += max(0, extra_octets)
        usage.boosted = usage.boosted or boost
        limit = usage.limit_octets
        was = usage.exhausted
        usage.exhausted = bool(limit is not None and usage.octets >= limit and not usage.boosted)
        usage.save()
        if was and not usage.exhausted:
            queue_subscriber_reauthorize(subscriber.pk, "fup-lifted")
    return usage


def send_usage_alert(subscriber_id: int, threshold: int, octets: int, limit: int) -> None:
    """The one place a quota notice leaves the system (the UsageAlert row is already stored):
    the tenant's "Data usage threshold" templates, queued once per alert for email / SMS."""
    from modules.billing import notify
    from modules.settings_hub.models import NotificationTemplate
    from modules.subscribers.models import Subscriber

    alert = (UsageAlert.objects.filter(subscriber_id=subscriber_id, threshold=threshold)
             .order_by("-cycle_start").first())
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if alert is None or subscriber is None:
        return
    log.info("usage alert subscriber=%s threshold=%s%% used=%s of %s octets",
             subscriber_id, threshold, octets, limit)
    notify.send(subscriber, NotificationTemplate.Event.FUP_THRESHOLD, {
        "threshold": threshold,
        "used_gb": f"{octets / 1024 ** 3:.2f}",
        "quota_gb": f"{limit / 1024 ** 3:.2f}",
    }, dedupe_key=f"fup:{alert.pk}")


def quota_exhausted(subscriber_id: int) -> None:
    """Quota used up: the subscriber becomes "limited" (its status_changed event throttles or
    cuts the live sessions); if the lifecycle refuses, the sessions are re-authorized anyway."""
    from modules.subscribers import services as subscriber_services
    from modules.subscribers.models import Subscriber

    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return
    try:
        subscriber_services.limit(subscriber, actor=None, reason="Data quota of the cycle used up")
    except (subscriber_services.TransitionError, PermissionDenied):
        queue_subscriber_reauthorize(subscriber_id, "fup-exhausted")


def _quota_octets(subscriber) -> int | None:
    plan = subscriber.plan
    return plan.quota_mb * 1024 * 1024 if plan is not None and plan.quota_mb else None


def live_session_filter(nas_ip: str) -> Q:
    return Q(nas_ip=nas_ip, stopped_at__isnull=True)
