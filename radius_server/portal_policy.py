"""The portal's RADIUS policy: who may log in, with what, and where accounting goes.

Authorization answers from the in-memory `Snapshot` (no query per packet; the database is
touched only to lease an address from a portal-managed pool). Every decision goes to the auth
log through `AuthLogWriter` (batched COPY). Accounting batches are stored by
`modules.networking.accounting.store_batch` in one transaction and acknowledged after COMMIT.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from django.db import connection

from modules.networking import accounting
from modules.networking.addressing import normalize_mac
from modules.networking.authorization import plan_rate_attributes, walled_garden_attributes
from modules.networking.selectors import interim_interval, unpaid_access_mode, walled_garden
from radius_server.authlog import AuthLogWriter
from radius_server.protocol import (
    AccessRequest,
    AccountingRequest,
    AttributeCodec,
    AuthDecision,
    Policy,
)
from radius_server.snapshot import Listener, Snapshot

log = logging.getLogger("radius_server.decisions")

_INTEGER = frozenset({"integer", "signed", "short", "byte", "integer64", "date"})
_SESSION_TIMEOUT_MAX = 2**31 - 1


class PortalPolicy(Policy):
    def __init__(self, *, snapshot: Snapshot | None = None, codec: AttributeCodec | None = None,
                 log_decisions: bool = True):
        self.snapshot = snapshot or Snapshot()
        self.codec = codec or AttributeCodec()
        self.writer = AuthLogWriter()
        self.listener: Listener | None = None
        self.log_decisions = log_decisions
        self._replies: dict[tuple, list] = {}
        self._replies_version = -1
        self._modes: dict[int, tuple[float, str]] = {}
        self._healthy_until = 0.0
        self._health_lock = threading.Lock()
        self._interim = interim_interval()
        causes = self.codec.definition("Acct-Terminate-Cause").values
        self._causes = {value: name for name, value in causes.items()}

    # ------------------------------------------------------------------ lifecycle

    def start(self, on_clients_changed=None) -> None:
        """Load the snapshot and start the listener and the auth log writer."""
        self.snapshot.load_all()
        connection.close()
        self.listener = Listener(self.snapshot, on_change=on_clients_changed)
        self.listener.start()
        self.listener.ready.wait(10)
        self.writer.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        self.writer.stop()

    # ------------------------------------------------------------------ authorization

    def authorize(self, request: AccessRequest) -> AuthDecision:
        snapshot = self.snapshot
        nas = snapshot.nas_by_client.get(request.client)
        if nas is None:  # the client was removed a moment ago
            return self._reject(request, None, None, "unknown_nas")
        self.writer.nas_seen[nas.id] = request.received_at
        username = request.username or ""
        sub = snapshot.subscribers.get((nas.tenant_id, username))
        if sub is None:
            return self._reject(request, nas, None, "unknown_user")
        if not request.verify_password(sub.password()):
            return self._reject(request, nas, sub, "wrong_password")
        status = sub.status
        if status in ("suspended", "terminated"):
            return self._reject(request, nas, sub, status)
        if status == "new":
            return self._reject(request, nas, sub, "not_activated")
        if sub.nas_ip and sub.nas_ip not in (request.source[0], nas.host):
            return self._reject(request, nas, sub, "nas_lock")
        calling = request.calling_station_id
        if sub.mac:
            if normalize_mac(calling) != sub.mac:
                return self._reject(request, nas, sub, "mac_mismatch")
        elif sub.bind_mac and calling:
            sub.mac = normalize_mac(calling)  # this process at once; the database via the writer
            self.writer.macs.append((sub.id, sub.mac))
        plan = snapshot.plans.get(sub.plan_id) if sub.plan_id else None
        if plan is None:
            return self._reject(request, nas, sub, "no_plan")
        now = request.received_at
        walled = False
        if status == "expired" or (sub.expires_at is not None and sub.expires_at <= now):
            if self._unpaid_mode(sub.tenant_id) != "walled_garden":
                return self._reject(request, nas, sub, "expired")
            walled = True
        limit = sub.simultaneous_use or plan.simultaneous_use or 1
        device = (nas.id, calling or request.nas_port_id or request.nas_port)
        if snapshot.sessions_in_use(sub.id, device, now) >= limit:
            return self._reject(request, nas, sub, "simultaneous_use")
        throttled = status == "limited" or sub.id in snapshot.exhausted
        if throttled and plan.fup_action == "block" and not walled:
            return self._reject(request, nas, sub, "quota_exhausted")
        attributes = list(self._plan_reply(plan, nas.vendor, sub, throttled, walled))
        attributes = self._addresses(attributes, sub, nas, plan, walled)
        if attributes is None:
            return self._reject(request, nas, sub, "ip_pool_exhausted")
        if sub.expires_at is not None and not walled:
            attributes.append(("Session-Timeout",
                               max(60, min(int(sub.expires_at - now), _SESSION_TIMEOUT_MAX))))
        attributes.append(("Acct-Interim-Interval", self._interim))
        snapshot.reserve(sub.id, device, now)
        self._log(request, nas, sub, "accept", "walled_garden" if walled else
                  "throttled" if throttled else "")
        return AuthDecision.accept(attributes)

    def engine_rejected(self, request: AccessRequest, reason: str) -> None:
        nas = self.snapshot.nas_by_client.get(request.client)
        sub = (self.snapshot.subscribers.get((nas.tenant_id, request.username or ""))
               if nas else None)
        self._log(request, nas, sub, "reject", reason)

    def _reject(self, request, nas, sub, reason: str) -> AuthDecision:
        self._log(request, nas, sub, "reject", reason)
        return AuthDecision.reject(reason)

    def _log(self, request, nas, sub, outcome: str, reason: str) -> None:
        username = request.username or ""
        self.writer.add(request.received_at, username, sub.id if sub else None,
                        sub.organization_id if sub else (nas.organization_id if nas else None),
                        nas.id if nas else None, request.source[0], request.calling_station_id,
                        str(request.auth_method or ""), outcome, reason)
        if self.log_decisions:
            log.info("%s user=%s nas=%s mac=%s reason=%s", outcome, username, request.source[0],
                     request.calling_station_id or "-", reason or "-")

    def _unpaid_mode(self, tenant_id: int) -> str:
        cached = self._modes.get(tenant_id)
        now = time.monotonic()
        if cached is None or cached[0] < now:
            cached = (now + 10.0, unpaid_access_mode(tenant_id))
            self._modes[tenant_id] = cached
        return cached[1]

    def _plan_reply(self, plan, vendor: str, sub, throttled: bool, walled: bool) -> list:
        """The plan's vendor attributes, typed for the dictionary, cached per snapshot version."""
        if self._replies_version != self.snapshot.version:
            self._replies = {}
            self._replies_version = self.snapshot.version
        down, up = (None, None) if throttled or walled else (sub.down_kbps, sub.up_kbps)
        key = (plan.pk, vendor, throttled, walled, down, up)
        reply = self._replies.get(key)
        if reply is None:
            if walled:
                raw = walled_garden_attributes(plan, vendor)
            else:
                raw = plan_rate_attributes(plan, vendor, throttled=throttled, download_kbps=down,
                                           upload_kbps=up)
            reply = self._replies[key] = self._typed(raw)
        return reply

    def _typed(self, attributes) -> list:
        typed = []
        for name, value in attributes:
            try:
                definition = self.codec.definition(name.split(":", 1)[0])
            except KeyError:
                logging.getLogger(__name__).warning("reply attribute %s is not in the dictionary",
                                                    name)
                continue
            if definition.type in _INTEGER and isinstance(value, str) and value.isdigit():
                value = int(value)
            typed.append((name, value))
        return typed

    def _addresses(self, attributes: list, sub, nas, plan, walled: bool) -> list | None:
        """Framed-IP-Address (static or leased from a portal pool) and the delegated prefix."""
        from modules.networking import services
        from modules.networking.models import Ipv4Pool, Ipv6Pool
        from modules.subscribers.models import Subscriber

        if sub.static_ipv4 and not walled:
            attributes = [a for a in attributes if a[0] != "Framed-Pool"]
            attributes.append(("Framed-IP-Address", sub.static_ipv4))
        else:
            name = walled_garden()[0] if walled else plan.ip_pool_name
            pool = self._pool(self.snapshot.ipv4_pools, nas, name, walled)
            if pool is not None:
                address = services.allocate_address(Subscriber(pk=sub.id), Ipv4Pool(pk=pool.id),
                                                    nas=None)
                if address is None:
                    return None
                attributes = [a for a in attributes if a[0] != "Framed-Pool"]
                attributes.append(("Framed-IP-Address", address))
        if sub.ipv6_prefix:
            attributes.append(("Delegated-IPv6-Prefix", sub.ipv6_prefix))
        elif not walled:
            pool6 = self._pool(self.snapshot.ipv6_pools, nas, None, False)
            if pool6 is not None:
                prefix = services.allocate_prefix(Subscriber(pk=sub.id), Ipv6Pool.objects.get(
                    pk=pool6.id))
                if prefix:
                    attributes.append(("Delegated-IPv6-Prefix", prefix))
        return attributes

    def _pool(self, pools, nas, name: str | None, walled: bool):
        nas_path = self.snapshot.org_paths.get(nas.organization_id, "")
        for pool in pools:
            if pool.tenant_id != nas.tenant_id:
                continue
            if name is not None and pool.name != name and not (walled and pool.walled_garden):
                continue
            if pool.nas_ids:
                if nas.id in pool.nas_ids:
                    return pool
            elif nas_path.startswith(pool.organization_path):
                return pool
        return None

    # ------------------------------------------------------------------ accounting

    def account_batch(self, requests: list[AccountingRequest]) -> list[bool]:
        records = []
        for request in requests:
            nas = self.snapshot.nas_by_client.get(request.client)
            if nas is None:
                records.append(None)
                continue
            self.writer.nas_seen[nas.id] = request.received_at
            records.append(self._record(request, nas))
        stored = [r for r in records if r is not None]
        try:
            accounting.store_batch(stored, now=datetime.now(UTC))
        except Exception:
            connection.close()  # a broken connection is replaced on the next batch
            raise
        return [r is not None for r in records]

    def _record(self, request: AccountingRequest, nas) -> accounting.AcctRecord:
        cause = request.terminate_cause
        return accounting.AcctRecord(
            status=request.status, unique_id=request.unique_session_id,
            session_id=request.session_id or "", username=request.username or "",
            tenant_id=nas.tenant_id, nas_id=nas.id, nas_org_id=nas.organization_id,
            nas_ip=request.nas_ip_address or request.source[0], event_time=request.event_time,
            nas_port_id=request.nas_port_id or "",
            calling_station_id=request.calling_station_id or "",
            called_station_id=request.called_station_id or "", framed_ip=request.framed_ip_address,
            delegated_prefix=request.delegated_ipv6_prefix or "", session_time=request.session_time,
            input_octets=request.input_octets, output_octets=request.output_octets,
            terminate_cause=self._causes.get(cause, str(cause)) if cause is not None else "",
        )

    # ------------------------------------------------------------------ health

    def healthy(self) -> bool:
        """Status-Server answers only while PostgreSQL answers (RFC 5997 §4.3); checked at most
        once a second."""
        now = time.monotonic()
        if now < self._healthy_until:
            return True
        with self._health_lock:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except Exception:
                connection.close()
                return False
            self._healthy_until = now + 1.0
            return True
