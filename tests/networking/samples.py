from django.utils import timezone

from modules.networking.models import (
    AuthLog,
    DailyUsage,
    Ipv4Pool,
    Ipv6Pool,
    NasDevice,
    RadiusSession,
)
from modules.networking.services import sync_pool_addresses
from tests.samples import sample
from tests.subscribers.samples import make_subscriber

_counter = iter(range(1, 10**6))


def _n():
    return next(_counter)


def make_nas(org, **fields) -> NasDevice:
    n = _n()
    values = {"name": f"BRAS {n}", "address": f"10.{n // 250}.{n % 250}.1", "secret": "s3cret",
              "vendor": "mikrotik"}
    values.update(fields)
    return NasDevice.objects.create(organization=org, **values)


def make_session(org, **fields) -> RadiusSession:
    n = _n()
    now = timezone.now()
    subscriber = fields.pop("subscriber", None) or make_subscriber(org)
    values = {"unique_id": f"{n:032x}", "session_id": f"S{n}", "username": subscriber.username,
              "subscriber": subscriber, "organization": org, "nas_ip": "10.0.0.1",
              "framed_ip": f"100.64.{n // 250}.{n % 250 + 1}", "started_at": now, "updated_at": now}
    values.update(fields)
    return RadiusSession.objects.create(**values)


@sample("networking.nasdevice")
def nas_device(org):
    return make_nas(org)


@sample("networking.ipv4pool")
def ipv4_pool(org):
    n = _n()
    pool = Ipv4Pool.objects.create(organization=org, name=f"pool-{n}",
                                   ranges=f"100.{64 + n % 60}.{n % 250}.0/29")
    sync_pool_addresses(pool)
    return pool


@sample("networking.ipv6pool")
def ipv6_pool(org):
    n = _n()
    return Ipv6Pool.objects.create(organization=org, name=f"v6-{n}",
                                   prefix=f"2001:db8:{n:x}::/48", delegated_length=56)


@sample("networking.radiussession")
def radius_session(org):
    return make_session(org)


@sample("networking.authlog")
def auth_log(org):
    return AuthLog.objects.create(created_at=timezone.now(), username=f"user{_n()}",
                                  organization=org, nas_ip="10.0.0.1", outcome="reject",
                                  reason="wrong_password", auth_method="pap")


@sample("networking.dailyusage")
def daily_usage(org):
    return DailyUsage.objects.create(subscriber=make_subscriber(org), organization=org,
                                     day=timezone.localdate(), input_octets=10, output_octets=20)
