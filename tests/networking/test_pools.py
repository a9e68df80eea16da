"""Address pools: parsing, race-free allocation, stickiness, release, IPv6 delegation."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from modules.networking import services
from modules.networking.addressing import normalize_mac, pool_addresses
from modules.networking.models import Ipv4Lease, Ipv4Pool, Ipv6Pool
from modules.networking.selectors import ipv4_utilization
from tests.subscribers.samples import make_subscriber


def test_ranges_cidrs_and_exclusions_make_the_usable_addresses():
    assert pool_addresses("10.0.0.0/30\n10.0.1.5-10.0.1.7", "10.0.1.6") == [
        "10.0.0.1", "10.0.0.2", "10.0.1.5", "10.0.1.7"]
    with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
        pool_addresses("10.0.0.300", "")


def test_pool_validation_refuses_empty_or_bad_ranges(world):
    pool = Ipv4Pool(organization=world.orgs["root"], name="x", ranges="10.0.0.1",
                    exclusions="10.0.0.1")
    with pytest.raises(ValidationError):
        pool.full_clean()


def test_macs_normalise_from_any_spelling():
    expected = "aa:bb:cc:dd:ee:ff"
    assert normalize_mac("AA-BB-CC-DD-EE-FF") == normalize_mac("aabb.ccdd.eeff") == expected


def test_sync_adds_and_removes_free_addresses_but_keeps_leased_ones(world):
    org = world.orgs["root"]
    pool = Ipv4Pool.objects.create(organization=org, name="p", ranges="10.1.0.1-10.1.0.4")
    assert services.sync_pool_addresses(pool) == {"added": 4, "removed": 0}
    subscriber = make_subscriber(org)
    assert services.allocate_address(subscriber, pool) == "10.1.0.1"
    pool.ranges = "10.1.0.3-10.1.0.5"
    assert services.sync_pool_addresses(pool) == {"added": 1, "removed": 1}
    assert set(Ipv4Lease.objects.filter(pool=pool).values_list("address", flat=True)) == {
        "10.1.0.1", "10.1.0.3", "10.1.0.4", "10.1.0.5"}


def test_allocation_is_sticky_released_and_reports_a_full_pool(world):
    org = world.orgs["root"]
    pool = Ipv4Pool.objects.create(organization=org, name="p", ranges="10.2.0.1-10.2.0.2")
    services.sync_pool_addresses(pool)
    a, b, c = (make_subscriber(org) for _ in range(3))
    assert services.allocate_address(a, pool) == "10.2.0.1"
    assert services.allocate_address(a, pool) == "10.2.0.1"
    assert services.allocate_address(b, pool) == "10.2.0.2"
    assert services.allocate_address(c, pool) is None
    assert services.release_address(subscriber_id=a.pk) == 1
    assert services.allocate_address(c, pool) == "10.2.0.1"
    services.release_address(subscriber_id=b.pk)
    assert services.allocate_address(make_subscriber(org), pool) == "10.2.0.2"  # the freed one
    pooled = ipv4_utilization(Ipv4Pool.objects.filter(pk=pool.pk)).get()
    assert (pooled.size, pooled.used) == (2, 2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_never_share_an_address(django_db_blocker):
    from modules.core.services import create_tenant

    tenant = create_tenant(name="Race Net", slug="race")
    pool = Ipv4Pool.objects.create(organization=tenant.root, name="p", ranges="10.3.0.0/27")
    services.sync_pool_addresses(pool)
    subscribers = [make_subscriber(tenant.root) for _ in range(24)]
    results, barrier = {}, threading.Barrier(8)

    def login(chunk):
        barrier.wait()
        try:
            for subscriber in chunk:
                results[subscriber.pk] = services.allocate_address(subscriber, pool)
        finally:
            connection.close()

    threads = [threading.Thread(target=login, args=(subscribers[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    addresses = list(results.values())
    assert None not in addresses and len(set(addresses)) == 24


def test_ipv6_prefixes_are_delegated_in_order_and_reused(world):
    org = world.orgs["root"]
    pool = Ipv6Pool.objects.create(organization=org, name="v6", prefix="2001:db8:100::/54",
                                   delegated_length=56)
    a, b, c, d, e = (make_subscriber(org) for _ in range(5))
    assert services.allocate_prefix(a, pool) == "2001:db8:100::/56"
    assert services.allocate_prefix(b, pool) == "2001:db8:100:100::/56"
    assert services.allocate_prefix(a, pool) == "2001:db8:100::/56"
    services.allocate_prefix(c, pool)
    services.allocate_prefix(d, pool)
    assert services.allocate_prefix(e, pool) is None  # a /54 holds four /56
    services.release_prefix(subscriber_id=b.pk)
    assert services.allocate_prefix(e, pool) == "2001:db8:100:100::/56"


def test_pool_pages_show_utilization_and_allocations(world, client):
    org = world.orgs["root"]
    pool = Ipv4Pool.objects.create(organization=org, name="alloc-v4", ranges="100.70.0.0/30")
    services.sync_pool_addresses(pool)
    pool6 = Ipv6Pool.objects.create(organization=org, name="alloc-v6", prefix="2001:db8:200::/54",
                                    delegated_length=56)
    holder = make_subscriber(org)
    address = services.allocate_address(holder, pool)
    prefix = services.allocate_prefix(holder, pool6)
    client.force_login(world.users["isp_admin"])
    listing = client.get(reverse("admin:networking_ipv4pool_changelist")).content.decode()
    size = Ipv4Lease.objects.filter(pool=pool).count()  # the usable hosts of the /30
    assert "alloc-v4" in listing and f"{100 / size:.1f} %" in listing
    page = client.get(reverse("admin:networking_ipv4pool_change", args=[pool.pk]))
    assert address in page.content.decode() and holder.username in page.content.decode()
    page6 = client.get(reverse("admin:networking_ipv6pool_change", args=[pool6.pk]))
    assert prefix in page6.content.decode() and holder.username in page6.content.decode()
    client.force_login(world.users["lco1"])  # a partner: the ISP's pools are not its own
    assert client.get(reverse("admin:networking_ipv6pool_change",
                              args=[pool6.pk])).status_code in (302, 403, 404)
