"""The in-memory picture the RADIUS policy answers from: subscribers, plans, NAS clients,
pools, FUP state and live sessions.

Loaded once at start (a few set-based queries, about a second per 100,000 subscribers) and
kept fresh by PostgreSQL notifications: triggers on the source tables announce
`radius_config` changes ("subscriber:42"), accounting announces `radius_sessions` opened and
closed. A listener thread reloads just the rows named, so a suspended subscriber, a new NAS
or a changed plan applies within a second, without a restart and without a query per packet.
Each structure is replaced or updated by single dict assignments, which the receive loop can
read without locks (the GIL makes them atomic).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from django.db import close_old_connections, connection
from django.utils import timezone

from modules.networking.addressing import normalize_mac
from radius_server.protocol.clients import Client, ClientTable

log = logging.getLogger(__name__)

CONFIG_CHANNEL = "radius_config"
SESSION_CHANNEL = "radius_sessions"
PENDING_SECONDS = 30.0

_SUBSCRIBER_FIELDS = (
    "id", "tenant_id", "organization_id", "username", "password_encrypted", "status", "plan_id",
    "expires_at", "activated_at", "mac_address", "bind_mac_on_first_login", "nas_ip",
    "static_ipv4", "ipv6_prefix", "simultaneous_use", "speed_override_down_kbps",
    "speed_override_up_kbps", "ip_pool_name",
)


@dataclass(slots=True)
class Sub:
    id: int
    tenant_id: int
    organization_id: int
    username: str
    password_encrypted: str
    status: str
    plan_id: int | None
    expires_at: float | None
    activated_at: object
    mac: str
    bind_mac: bool
    nas_ip: str | None
    static_ipv4: str | None
    ipv6_prefix: str
    simultaneous_use: int | None
    down_kbps: int | None
    up_kbps: int | None
    pool_name: str = ""
    _password: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: tuple) -> Sub:
        (pk, tenant_id, org_id, username, token, status, plan_id, expires_at, activated_at, mac,
         bind_mac, nas_ip, static_ipv4, ipv6_prefix, simultaneous_use, down, up, pool) = row
        return cls(pk, tenant_id, org_id, username, token, status, plan_id,
                   expires_at.timestamp() if expires_at else None, activated_at,
                   normalize_mac(mac) if mac else "", bind_mac, nas_ip, static_ipv4,
                   ipv6_prefix or "", simultaneous_use, down, up, pool or "")

    def password(self) -> str:
        """Decrypted on first use and kept: Fernet costs ~20 us, a login must not pay it."""
        if self._password is None:
            from modules.subscribers.crypto import decrypt_password

            self._password = decrypt_password(self.password_encrypted)
        return self._password


@dataclass(slots=True, frozen=True)
class Nas:
    id: int
    tenant_id: int
    organization_id: int
    vendor: str
    address: str
    host: str


@dataclass(slots=True, frozen=True)
class PoolRef:
    id: int
    name: str
    organization_path: str
    tenant_id: int
    nas_ids: frozenset
    walled_garden: bool


class Snapshot:
    def __init__(self):
        self.subscribers: dict[tuple[int, str], Sub] = {}
        self.keys_by_id: dict[int, tuple[int, str]] = {}
        self.plans: dict[int, object] = {}
        self.nas_by_client: dict[Client, Nas] = {}
        self.clients = ClientTable([])
        self.org_paths: dict[int, str] = {}
        self.ipv4_pools: list[PoolRef] = []
        self.ipv6_pools: list[PoolRef] = []
        self.exhausted: set[int] = set()
        self.live: dict[int, set[str]] = {}
        self.pending: dict[int, dict[tuple, float]] = {}
        self.version = 0  # bumped on every change, so derived caches know to drop
        self.loaded_at = 0.0

    # -------------------------------------------------------------- full load

    def load_all(self) -> None:
        started = time.monotonic()
        self.load_nas()
        self.load_plans(None)
        self.load_pools()
        subscribers, keys = {}, {}
        from modules.subscribers.models import Subscriber

        for row in Subscriber.objects.values_list(*_SUBSCRIBER_FIELDS).iterator(chunk_size=20000):
            sub = Sub.from_row(row)
            subscribers[(sub.tenant_id, sub.username)] = sub
            keys[sub.id] = (sub.tenant_id, sub.username)
        self.subscribers, self.keys_by_id = subscribers, keys
        self.load_fup(None)
        self.load_live()
        self.version += 1
        self.loaded_at = time.time()
        log.info("radius snapshot: %d subscribers, %d plans, %d NAS clients in %.2f s",
                 len(subscribers), len(self.plans), len(self.nas_by_client),
                 time.monotonic() - started)

    def load_nas(self) -> None:
        from modules.networking.models import NasDevice

        old = {(c.address, c.secret, c.require_message_authenticator): c
               for c in self.nas_by_client}
        by_client, clients = {}, []
        for nas in NasDevice.objects.filter(is_active=True).select_related("organization"):
            key = (nas.address, nas.secret.encode(), nas.require_message_authenticator)
            client = old.get(key) or Client(
                nas.address, nas.secret.encode(), name=nas.name,
                require_message_authenticator=nas.require_message_authenticator)
            clients.append(client)
            by_client[client] = Nas(nas.id, nas.organization.tenant_id, nas.organization_id,
                                    nas.vendor, nas.address, nas.host)
        table = ClientTable(clients)
        self.nas_by_client, self.clients = by_client, table
        self.version += 1

    def load_plans(self, ids: set[int] | None) -> None:
        from modules.plans.models import Plan

        plans = Plan.objects.prefetch_related("attributes")
        if ids is not None:
            plans = plans.filter(pk__in=ids)
            fresh = dict(self.plans)
            for pk in ids:
                fresh.pop(pk, None)
        else:
            fresh = {}
        for plan in plans:
            fresh[plan.pk] = plan
        self.plans = fresh
        self.version += 1

    def load_pools(self) -> None:
        from modules.core.models import Organization
        from modules.networking.models import Ipv4Pool, Ipv6Pool

        self.org_paths = dict(Organization.objects.values_list("id", "path"))
        org_tenants = dict(Organization.objects.values_list("id", "tenant_id"))

        def refs(model, walled):
            return [
                PoolRef(pool.id, pool.name, self.org_paths.get(pool.organization_id, ""),
                        org_tenants.get(pool.organization_id),
                        frozenset(n.id for n in pool.nas_devices.all()), walled(pool))
                for pool in model.objects.filter(is_active=True).prefetch_related("nas_devices")
            ]

        self.ipv4_pools = refs(Ipv4Pool, lambda p: p.is_walled_garden)
        self.ipv6_pools = refs(Ipv6Pool, lambda p: False)
        self.version += 1

    def load_subscribers(self, ids: set[int]) -> None:
        from modules.subscribers.models import Subscriber

        rows = {row[0]: row for row in Subscriber.objects.filter(pk__in=ids)
                .values_list(*_SUBSCRIBER_FIELDS)}
        for pk in ids:
            old_key = self.keys_by_id.pop(pk, None)
            if old_key is not None:
                self.subscribers.pop(old_key, None)
            row = rows.get(pk)
            if row is not None:
                sub = Sub.from_row(row)
                self.subscribers[(sub.tenant_id, sub.username)] = sub
                self.keys_by_id[pk] = (sub.tenant_id, sub.username)

    def load_fup(self, ids: set[int] | None) -> None:
        """Subscribers whose latest quota cycle is used up and not boosted."""
        from modules.networking.models import CycleUsage

        recent = timezone.now() - timedelta(days=62)
        rows = CycleUsage.objects.filter(cycle_start__gte=recent).order_by(
            "subscriber_id", "-cycle_start").distinct("subscriber_id")
        if ids is not None:
            rows = rows.filter(subscriber_id__in=ids)
        flagged = {sub for sub, exhausted, boosted in rows.values_list(
            "subscriber_id", "exhausted", "boosted") if exhausted and not boosted}
        if ids is None:
            self.exhausted = flagged
        else:
            self.exhausted = (self.exhausted - ids) | flagged

    def load_live(self) -> None:
        from modules.networking.models import RadiusSession

        live: dict[int, set[str]] = {}
        for sub, uid in RadiusSession.objects.filter(
                stopped_at__isnull=True, subscriber__isnull=False).values_list(
                "subscriber_id", "unique_id"):
            live.setdefault(sub, set()).add(uid)
        self.live = live

    # -------------------------------------------------------------- simultaneous use

    def sessions_in_use(self, sub_id: int, device: tuple, now: float) -> int:
        """Live sessions plus logins accepted in the last 30 s whose Start has not arrived;
        a repeated login from the same device does not count against itself."""
        pending = self.pending.get(sub_id)
        count = len(self.live.get(sub_id, ()))
        if pending:
            # copies taken at once (here and below): the notification listener's thread
            # consumes reservations too
            count += sum(1 for key, until in list(pending.items())
                         if until > now and key != device)
        return count

    def reserve(self, sub_id: int, device: tuple, now: float) -> None:
        pending = self.pending.setdefault(sub_id, {})
        if len(pending) > 8:
            for key in [k for k, until in list(pending.items()) if until <= now]:
                pending.pop(key, None)
        pending[device] = now + PENDING_SECONDS

    def apply_session_notice(self, payload: str) -> None:
        for line in payload.splitlines():
            sign, rest = line[:1], line[1:]
            sub_text, _, uid = rest.partition(" ")
            if not sub_text.isdigit():
                continue
            sub_id = int(sub_text)
            if sign == "+":
                self.session_opened(sub_id, uid)
            elif sign == "-":
                self.session_closed(sub_id, uid)

    def session_opened(self, sub_id: int, uid: str) -> None:
        """A session started: from this process's spool at once, or from a commit notice
        (which for our own Starts arrives later and must not consume a second reservation)."""
        sessions = self.live.setdefault(sub_id, set())
        if uid in sessions:
            return
        sessions.add(uid)
        pending = self.pending.get(sub_id)
        if pending:  # the Start of a login we accepted: its reservation is now a session
            # a copy taken at once: the receive loop may add reservations meanwhile
            oldest = min(list(pending.items()), key=lambda item: item[1])[0]
            pending.pop(oldest, None)

    def session_closed(self, sub_id: int, uid: str) -> None:
        sessions = self.live.get(sub_id)
        if sessions is not None:
            sessions.discard(uid)
            if not sessions:
                self.live.pop(sub_id, None)


def connection_kwargs() -> dict:
    """psycopg connection arguments for the database Django uses (test database included)."""
    params = connection.get_connection_params()
    return {k: v for k, v in params.items()
            if k in ("dbname", "user", "password", "host", "port", "sslmode")}


class Listener(threading.Thread):
    """LISTENs on a dedicated connection and applies each notification to the snapshot.

    After a lost connection it reconnects and reloads everything, since notifications sent
    while it was away are gone.
    """

    def __init__(self, snapshot: Snapshot, on_change=None):
        super().__init__(name="radius-snapshot", daemon=True)
        self.snapshot = snapshot
        self.on_change = on_change
        self._stopping = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**connection_kwargs(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CONFIG_CHANNEL}")
                    conn.execute(f"LISTEN {SESSION_CHANNEL}")
                    if not first:
                        close_old_connections()
                        self.snapshot.load_all()
                        self._changed()
                    first = False
                    self.ready.set()
                    while not self._stopping.is_set():
                        batch = list(conn.notifies(timeout=0.5, stop_after=2000))
                        if batch:
                            self.apply(batch)
            except Exception:
                log.exception("radius snapshot listener lost its connection; retrying")
                connection.close()
                self._stopping.wait(1.0)

    def apply(self, notifications) -> None:
        changed: dict[str, set[int]] = {}
        snapshot = self.snapshot
        for note in notifications:
            if note.channel == SESSION_CHANNEL:
                snapshot.apply_session_notice(note.payload)
                continue
            kind, _, pks = note.payload.partition(":")  # "<kind>:<id>[,<id>...]"
            ids = {int(pk) for pk in pks.split(",") if pk.isdigit()}
            if ids:
                changed.setdefault(kind, set()).update(ids)
        if not changed:
            return
        try:
            if "subscriber" in changed:
                snapshot.load_subscribers(changed["subscriber"])
            if "plan" in changed:
                snapshot.load_plans(changed["plan"])
            if "nas" in changed:
                snapshot.load_nas()
            if "pools" in changed:
                snapshot.load_pools()
            if "fup" in changed:
                snapshot.load_fup(changed["fup"])
            snapshot.version += 1
        finally:
            connection.close()  # this thread holds no connection between bursts
        log.info("radius snapshot updated: %s",
                 ", ".join(f"{kind} x{len(ids)}" for kind, ids in changed.items()))
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
