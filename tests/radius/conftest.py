"""A running RADIUS server (the portal policy on the engine) against the committed test DB.

The server runs in a thread of the test process on random ports, so the tests talk UDP to
it exactly as a NAS would, and read what it wrote with the ORM. `transactional_db` commits
the world, so the server's own connections see it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from modules.core.services import add_organization, create_tenant
from modules.networking.models import NasDevice
from modules.plans.models import Plan
from modules.subscribers.models import Subscriber
from radius_server.management.commands.radius_server import PortalRadiusServer
from radius_server.portal_policy import PortalPolicy
from radius_server.protocol import ServerConfig
from radius_server.snapshot import connection_kwargs

PASSWORD = "Pa55-word!"


@dataclass
class RadiusWorld:
    tenant: object
    root: object
    lco: object
    plan: Plan
    nas: NasDevice
    subs: dict[str, Subscriber] = field(default_factory=dict)

    def subscriber(self, username: str, **fields) -> Subscriber:
        values = {"name": username.title(), "plan": self.plan, "status": "active",
                  "activated_at": timezone.now() - timedelta(days=3),
                  "expires_at": timezone.now() + timedelta(days=27)}
        values.update(fields)
        sub = Subscriber(tenant=self.tenant, organization=values.pop("organization", self.lco),
                         username=username, **values)
        sub.set_password(PASSWORD)
        sub.save()
        self.subs[username] = sub
        return sub


@pytest.fixture
def radius_world(transactional_db):
    tenant = create_tenant(name="Skyline Test", slug="skyline-test")
    root = tenant.root
    lco = add_organization(root, name="LCO Kothrud", code="kothrud", kind="lco")
    plan = Plan.objects.create(
        organization=root, code="fiber-100", name="Fiber 100", price=Decimal("799.00"),
        download_kbps=100_000, upload_kbps=50_000, quota_mb=1024, fup_action="throttle",
        fup_download_kbps=2_000, fup_upload_kbps=1_000, simultaneous_use=1,
        ip_pool_name="pppoe-pool")
    nas = NasDevice.objects.create(organization=root, name="Baner BRAS", address="127.0.0.1",
                                   secret="testing123", vendor="mikrotik")
    world = RadiusWorld(tenant, root, lco, plan, nas)
    world.subscriber("alice")
    return world


@contextmanager
def database_refused():
    """PostgreSQL refuses the server's connections (and drops the ones it has) meanwhile;
    the test's own connection stays."""
    name = connection.settings_dict["NAME"]
    params = {**connection_kwargs(), "dbname": "postgres"}

    def allow(allowed: bool) -> None:
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {allowed}')

    connection.ensure_connection()
    allow(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        yield
    finally:
        allow(True)


class Running:
    def __init__(self, server, policy):
        self.server = server
        self.policy = policy
        self.auth_port = server.auth_address[1]
        self.acct_port = server.acct_address[1]

    def flush_log(self):
        """Wait until the auth log writer has committed everything it holds."""
        writer = self.policy.writer
        deadline = time.monotonic() + 5
        while (writer.rows or writer.macs) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the batch being written when the queue emptied

    def settle(self, timeout: float = 10.0):
        """Wait until every acknowledged accounting record has reached PostgreSQL."""
        assert self.wait_for(self.policy.accounting_settled, timeout), "spool not applied"

    def wait_for(self, predicate, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def radius(radius_world, settings, tmp_path):
    # Tasks run inline (eagerly); a NAS that is not listening must not stall the test.
    settings.RADIUS_COA_TIMEOUT = 0.3
    settings.RADIUS_COA_ATTEMPTS = 1
    settings.RADIUS_SPOOL_APPLY_INTERVAL = 0.05  # each test sends a handful of records
    celery_app.conf.task_always_eager = True
    policy = PortalPolicy(log_decisions=False, spool_dir=str(tmp_path / "spool"))
    policy.writer.flush_interval = 0.05
    policy.start()
    # as `manage.py radius_server` configures it: accounting spooled in the receive loop
    config = ServerConfig(host="127.0.0.1", auth_port=0, acct_port=0, reuse_port=False,
                          accounting_inline=True)
    server = PortalRadiusServer(policy, policy.snapshot.clients, config, policy.codec)
    policy.listener.on_change = lambda: setattr(server, "clients", policy.snapshot.clients)
    server.start()
    yield Running(server, policy)
    server.stop()
    celery_app.conf.task_always_eager = False
    with connection.cursor() as cursor:  # connections of the server's threads
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
