"""The portal's RADIUS policy: who may log in, with what, and where accounting goes.

Authorization answers from the in-memory `Snapshot` (no query per packet; the database is
touched only to lease an address from a portal-managed pool). Every decision goes to the auth
log through `AuthLogWriter` (batched COPY). Accounting is acknowledged once it is fsynced to
the process's local spool (`radius_server.spool`); a writer (`radius_server.applier`, in a
child process under `manage.py radius_server`) applies the spool to PostgreSQL in large batches
through `modules.networking.accounting.store_batch`, storing how far it got in the same
transaction, so a crash or an outage only delays records, never loses them.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from datetime import UTC, datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, connections, transaction

from modules.networking import accounting, services
from modules.networking.addressing import normalize_mac
from modules.networking.authorization import plan_rate_attributes, walled_garden_attributes
from modules.networking.models import Ipv4Pool, Ipv6Pool
from modules.networking.selectors import interim_interval, unpaid_access_mode, walled_garden
from modules.subscribers.models import Subscriber
from radius_server import spool as spooling
from radius_server.applier import ApplierProcess, SpoolWriter
from radius_server.authlog import AuthLogWriter
from radius_server.protocol import (
    AccessRequest,
    AccountingRequest,
    AttributeCodec,
    AuthDecision,
    Policy,
)
from radius_server.protocol import constants as c
from radius_server.protocol.constants import ACCT_STATUS_TYPE
from radius_server.protocol.packet import decode
from radius_server.snapshot import Listener, Snapshot

log = logging.getLogger("radius_server.decisions")

_INTEGER = frozenset({"integer", "signed", "short", "byte", "integer64", "date"})
_SESSION_TIMEOUT_MAX = 2**31 - 1
# A spooled Accounting-Request: receive time, NAS id, tenant, NAS owner (-1: none), source IP
# length; then the source IP and the packet exactly as received (already authenticated).
_SPOOLED = struct.Struct("!dqqqB")
# What `PortalPolicy._session_fields` reads from a packet.
_SESSION_ATTRIBUTES = (c.USER_NAME, c.ACCT_SESSION_ID, c.NAS_IP_ADDRESS, c.NAS_IPV6_ADDRESS,
                       c.NAS_IDENTIFIER, c.NAS_PORT_ID, c.NAS_PORT, c.CALLING_STATION_ID,
                       c.CALLED_STATION_ID, c.FRAMED_IP_ADDRESS, c.DELEGATED_IPV6_PREFIX)
_START, _STOP = (1).to_bytes(4, "big"), (2).to_bytes(4, "big")  # Acct-Status-Type values


class _SpooledNas(NamedTuple):
    id: int
    tenant_id: int
    organization_id: int | None


class PortalPolicy(Policy):
    def __init__(self, *, snapshot: Snapshot | None = None, codec: AttributeCodec | None = None,
                 log_decisions: bool = True, spool_dir: str | None = None,
                 spool_max_bytes: int | None = None, applier_process: bool = False,
                 on_applier_failure=None):
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
        self._spool_dir = spool_dir
        self._spool_max_bytes = spool_max_bytes
        self.spool: spooling.Spool | None = None
        self.spools: list[spooling.Spool] = []
        self.spool_writers: list[SpoolWriter] = []
        # The command applies spools in a child process (its bursts of Python stay off the
        # receive loop's interpreter); tests and embedders may keep the writers as threads.
        self._applier_process = applier_process
        self._on_applier_failure = on_applier_failure
        self.applier: ApplierProcess | None = None
        self._spool_full_warned = 0.0

    # ------------------------------------------------------------------ lifecycle

    def start(self, on_clients_changed=None) -> None:
        """Start the spool writers (which first replay whatever an earlier run acknowledged
        but did not store); load the snapshot; start the listener and the auth log writer."""
        max_bytes = self._spool_max_bytes or settings.RADIUS_SPOOL_MAX_MB * 1024 * 1024
        self.spool, orphans = spooling.open_spools(self._spool_dir or settings.RADIUS_SPOOL_DIR,
                                                   max_bytes=max_bytes)
        self.spools = [self.spool, *orphans]
        self.spool_writers = [
            SpoolWriter(spool, self._apply_spooled, self._spool_position,
                        drain_and_exit=spool is not self.spool,
                        min_interval=settings.RADIUS_SPOOL_APPLY_INTERVAL)
            for spool in self.spools
        ]
        if self._applier_process:  # forked first: no thread and no connection to inherit
            connections.close_all()
            self.applier = ApplierProcess(self.spool_writers, self._applier_failed)
            self.applier.start()
            for orphan in orphans:
                orphan.close()  # the child drains it and releases the slot
        else:
            for writer in self.spool_writers:
                writer.start()
        self.snapshot.load_all()
        connection.close()
        self.listener = Listener(self.snapshot, on_change=on_clients_changed)
        self.listener.start()
        self.listener.ready.wait(10)
        self.writer.start()

    def _applier_failed(self, exit_code: int) -> None:
        if self._on_applier_failure is not None:
            self._on_applier_failure(exit_code)

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        if self.applier is not None:
            self.applier.stop()  # what it has not applied stays spooled for the next start
        else:
            for writer in self.spool_writers:
                writer.stop()
        if self.spool is not None:
            self.spool.close()
        self.writer.stop()

    def accounting_settled(self) -> bool:
        """Every acknowledged accounting record is in PostgreSQL."""
        return all(spool.settled() for spool in self.spools)

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
        if sub.static_ipv4 and not walled:
            attributes = [a for a in attributes if a[0] != "Framed-Pool"]
            attributes.append(("Framed-IP-Address", sub.static_ipv4))
        else:
            name = walled_garden()[0] if walled else (sub.pool_name or plan.ip_pool_name)
            pool = self._pool(self.snapshot.ipv4_pools, nas, name, walled)
            if pool is None and sub.pool_name and not walled:  # a pool defined on the NAS
                attributes = [a for a in attributes if a[0] != "Framed-Pool"]
                attributes.append(("Framed-Pool", sub.pool_name))
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
        """Spool the batch (one write, one fsync) and acknowledge it; nothing is acknowledged
        when the spool is full (or the write fails). Starts and Stops update this process's
        live sessions at once; other processes learn them when the spool writer commits."""
        nas_by_client = self.snapshot.nas_by_client
        nas_seen = self.writer.nas_seen
        bodies, results, starts_stops = [], [], []
        for request in requests:
            nas = nas_by_client.get(request.client)
            if nas is None:
                results.append(False)
                continue
            nas_seen[nas.id] = request.received_at
            ip = request.source[0].encode()
            bodies.append(_SPOOLED.pack(request.received_at, nas.id, nas.tenant_id,
                                        nas.organization_id or -1, len(ip))
                          + ip + request.packet.data)
            results.append(True)
            status = request.packet.first.get(ACCT_STATUS_TYPE)
            if status in (_START, _STOP):
                starts_stops.append((request, nas, status == _START))
        if bodies:
            try:
                self.spool.append(bodies)
            except spooling.SpoolFull as exc:
                now = time.monotonic()
                if now >= self._spool_full_warned:
                    self._spool_full_warned = now + 10.0
                    logging.getLogger(__name__).warning(
                        "accounting spool full (%s): not answering accounting", exc)
                return [False] * len(requests)
        for request, nas, start in starts_stops:
            sub = self.snapshot.subscribers.get((nas.tenant_id, request.username or ""))
            if sub is not None:
                if start:
                    self.snapshot.session_opened(sub.id, request.unique_session_id)
                else:
                    self.snapshot.session_closed(sub.id, request.unique_session_id)
        return results

    def _apply_spooled(self, bodies: list[bytes], spool_id: str, position: tuple) -> None:
        """Store spooled records and the spool position in one transaction (spool writer)."""
        records = self._spooled_records(bodies)
        try:
            with transaction.atomic():
                accounting.store_batch(accounting.coalesce(records), now=datetime.now(UTC))
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO radius_server_spoolmark (spool, segment, position, "
                        "updated_at) VALUES (%s, %s, %s, now()) ON CONFLICT (spool) DO UPDATE "
                        "SET segment = EXCLUDED.segment, position = EXCLUDED.position, "
                        "updated_at = EXCLUDED.updated_at",
                        [spool_id, position[0], position[1]])
        except Exception:
            connection.close()  # a broken connection is replaced on the next attempt
            raise

    @staticmethod
    def _spool_position(spool_id: str) -> tuple[int, int] | None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT segment, position FROM radius_server_spoolmark "
                               "WHERE spool = %s", [spool_id])
                row = cursor.fetchone()
        except Exception:
            connection.close()
            raise
        return None if row is None else (row[0], row[1])

    def _spooled_records(self, bodies: list[bytes]) -> list[accounting.AcctRecord]:
        """Accounting records from spooled packets. What a session repeats in each record (its
        identity, port, stations, addresses) is decoded once a batch: under load a batch holds
        several Interim-Updates of each session."""
        codec, size, causes = self.codec, _SPOOLED.size, self._causes
        repeated: dict[tuple, dict] = {}
        records = []
        for body in bodies:
            received_at, nas_id, tenant_id, org_id, ip_length = _SPOOLED.unpack_from(body)
            packet = decode(body[size + ip_length:])
            if packet.__class__ is str:  # it was valid when spooled; this cannot happen
                log.error("unreadable spooled accounting record: %s", packet)
                continue
            raw_ip = body[size:size + ip_length]
            request = AccountingRequest(packet, None, (raw_ip.decode(), 0), received_at, codec)
            get = packet.first.get
            key = (nas_id, tenant_id, org_id, raw_ip, *[get(a) for a in _SESSION_ATTRIBUTES])
            fields = repeated.get(key)
            if fields is None:
                fields = repeated[key] = self._session_fields(
                    request, _SpooledNas(nas_id, tenant_id, None if org_id < 0 else org_id))
            cause = request.terminate_cause
            records.append(accounting.AcctRecord(
                status=request.status, event_time=request.event_time,
                session_time=request.session_time, input_octets=request.input_octets,
                output_octets=request.output_octets,
                terminate_cause=causes.get(cause, str(cause)) if cause is not None else "",
                **fields))
        return records

    @staticmethod
    def _session_fields(request: AccountingRequest, nas) -> dict:
        """The fields of an accounting record that every record of its session repeats (they
        depend only on `_SESSION_ATTRIBUTES`, the NAS and the source address)."""
        return {
            "unique_id": request.unique_session_id, "session_id": request.session_id or "",
            "username": request.username or "", "tenant_id": nas.tenant_id, "nas_id": nas.id,
            "nas_org_id": nas.organization_id,
            "nas_ip": request.nas_ip_address or request.source[0],
            "nas_port_id": request.nas_port_id or "",
            "calling_station_id": request.calling_station_id or "",
            "called_station_id": request.called_station_id or "",
            "framed_ip": request.framed_ip_address,
            "delegated_prefix": request.delegated_ipv6_prefix or "",
        }

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
