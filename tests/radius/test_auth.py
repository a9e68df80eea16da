"""Access-Requests over UDP against the running server: methods, policy, replies, auth log."""

from datetime import timedelta

from django.utils import timezone

from modules.billing.models import BillingSettings
from modules.networking.models import AuthLog, Ipv4Pool, Ipv6Lease, Ipv6Pool, NasDevice
from modules.networking.services import sync_pool_addresses
from modules.subscribers.models import Subscriber
from radius_server.protocol import constants as c
from tests.radius.client import access_request, exchange, mschap2_success, radclient
from tests.radius.conftest import PASSWORD


def test_pap_accept_carries_plan_attributes_and_is_logged(radius):
    reply = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert reply.accepted
    assert reply.first_attribute == c.MESSAGE_AUTHENTICATOR
    assert reply.get("Mikrotik-Rate-Limit") == "50M/100M"
    assert reply.get("Framed-Pool") == "pppoe-pool"
    assert reply.get("Acct-Interim-Interval") == 300
    assert 26 * 86400 < reply.get("Session-Timeout") <= 27 * 86400
    radius.flush_log()
    row = AuthLog.objects.get(username="alice")
    assert (row.outcome, row.auth_method, row.reason) == ("accept", "pap", "")
    assert row.subscriber_id == Subscriber.objects.get(username="alice").pk


def test_chap_with_and_without_challenge_and_radclient(radius):
    assert exchange(access_request("alice", chap=PASSWORD), radius.auth_port).accepted
    assert exchange(access_request("alice", chap=PASSWORD, chap_challenge=False),
                    radius.auth_port).accepted
    out = radclient(radius.auth_port, "auth",
                    f'User-Name = "alice"\nCHAP-Password = "{PASSWORD}"\n'
                    'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
    assert "Access-Accept" in out
    out = radclient(radius.auth_port, "auth",
                    f'User-Name = "alice"\nUser-Password = "{PASSWORD}"\n'
                    'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
    assert "Access-Accept" in out and "Mikrotik-Rate-Limit" in out


def test_mschapv2_accept_returns_success_and_mppe_keys(radius):
    reply = exchange(access_request("alice", mschapv2=PASSWORD), radius.auth_port)
    assert reply.accepted
    success = mschap2_success(reply)
    assert success is not None and success[1:3] == b"S=" and len(success) == 43
    assert reply.all("MS-MPPE-Send-Key") and reply.all("MS-MPPE-Recv-Key")
    wrong = exchange(access_request("alice", mschapv2="not-it"), radius.auth_port)
    assert wrong.code == c.ACCESS_REJECT and wrong.all("MS-CHAP-Error")


def _reason(radius, username):
    radius.flush_log()
    return list(AuthLog.objects.filter(username=username).values_list("outcome", "reason"))


REJECTS = [  # (username, subscriber fields or None for no subscriber, password, reason)
    ("ghost", None, PASSWORD, "unknown_user"),
    ("bob", {}, "wrong-one", "wrong_password"),
    ("sam", {"status": "suspended"}, PASSWORD, "suspended"),
    ("tom", {"status": "terminated"}, PASSWORD, "terminated"),
    ("nina", {"status": "new"}, PASSWORD, "not_activated"),
    ("mac", {"mac_address": "AA-BB-CC-00-00-01"}, PASSWORD, "mac_mismatch"),
    ("lock", {"nas_ip": "10.9.9.9"}, PASSWORD, "nas_lock"),
    ("exp", {"status": "expired"}, PASSWORD, "expired"),
    ("late", {"expires_at": timezone.now() - timedelta(hours=1)}, PASSWORD, "expired"),
]


def test_each_reject_reason_is_answered_and_logged(radius_world, request):
    for username, fields, _password, _reason in REJECTS:
        if fields is not None:
            radius_world.subscriber(username, **fields)
    radius = request.getfixturevalue("radius")
    for username, _fields, password, reason in REJECTS:
        reply = exchange(access_request(username, password=password,
                                        extra=[("Calling-Station-Id", "AA:BB:CC:00:00:02")]),
                         radius.auth_port)
        assert reply.code == c.ACCESS_REJECT, username
        assert reply.first_attribute == c.MESSAGE_AUTHENTICATOR
        assert not reply.all("Mikrotik-Rate-Limit")
    radius.flush_log()
    logged = dict(AuthLog.objects.values_list("username", "reason"))
    assert logged == {username: reason for username, _f, _p, reason in REJECTS}
    assert set(AuthLog.objects.values_list("outcome", flat=True)) == {"reject"}


def test_mac_is_bound_on_first_login_then_enforced(radius_world, request):
    radius_world.subscriber("carol", bind_mac_on_first_login=True)
    radius = request.getfixturevalue("radius")
    first = [("Calling-Station-Id", "aa-bb-cc-dd-ee-01")]
    assert exchange(access_request("carol", password=PASSWORD, extra=first),
                    radius.auth_port).accepted
    radius.flush_log()
    assert Subscriber.objects.get(username="carol").mac_address == "aa:bb:cc:dd:ee:01"
    other = [("Calling-Station-Id", "aa-bb-cc-dd-ee-02")]
    assert exchange(access_request("carol", password=PASSWORD, extra=other),
                    radius.auth_port).code == c.ACCESS_REJECT
    assert ("reject", "mac_mismatch") in _reason(radius, "carol")


def test_simultaneous_use_counts_live_sessions_and_pending_logins(radius):
    from tests.radius.client import accounting_request

    device_a = [("Calling-Station-Id", "aa:aa:aa:aa:aa:01")]
    device_b = [("Calling-Station-Id", "aa:aa:aa:aa:aa:02")]
    assert exchange(access_request("alice", password=PASSWORD, extra=device_a),
                    radius.auth_port).accepted
    # The same device logging in again (a PPPoE retry) is not a second session.
    assert exchange(access_request("alice", password=PASSWORD, extra=device_a),
                    radius.auth_port).accepted
    # A second device, before the first one's Start arrived: refused.
    assert exchange(access_request("alice", password=PASSWORD, extra=device_b),
                    radius.auth_port).code == c.ACCESS_REJECT
    start = accounting_request("Start", "alice", "S-1", extra=device_a)
    assert exchange(start, radius.acct_port) is not None
    assert radius.wait_for(lambda: radius.policy.snapshot.live)
    assert exchange(access_request("alice", password=PASSWORD, extra=device_b),
                    radius.auth_port).code == c.ACCESS_REJECT
    stop = accounting_request("Stop", "alice", "S-1", session_time=60, extra=device_a)
    assert exchange(stop, radius.acct_port) is not None
    assert radius.wait_for(lambda: not radius.policy.snapshot.live)
    assert exchange(access_request("alice", password=PASSWORD, extra=device_b),
                    radius.auth_port).accepted
    assert ("reject", "simultaneous_use") in _reason(radius, "alice")


def test_expired_subscriber_gets_walled_garden_when_the_billing_engine_says_so(radius_world,
                                                                               request):
    BillingSettings.objects.update_or_create(
        tenant=radius_world.tenant, defaults={"unpaid_access_mode": "walled_garden"})
    radius_world.subscriber("dave", status="expired",
                            expires_at=timezone.now() - timedelta(days=2))
    radius = request.getfixturevalue("radius")
    reply = exchange(access_request("dave", password=PASSWORD), radius.auth_port)
    assert reply.accepted
    assert reply.get("Framed-Pool") == "walled-garden"
    assert reply.get("Mikrotik-Rate-Limit") == "256k/256k"
    assert reply.get("Session-Timeout") is None
    assert _reason(radius, "dave") == [("accept", "walled_garden")]


def test_unpaid_subscriber_in_grace_gets_walled_garden_when_the_billing_engine_says_so(
        radius_world, request):
    """Past expiry but not yet expired (auto-renewal found no money; grace days running)."""
    BillingSettings.objects.update_or_create(
        tenant=radius_world.tenant, defaults={"unpaid_access_mode": "walled_garden",
                                              "grace_days": 3})
    radius_world.subscriber("gina", status="active",
                            expires_at=timezone.now() - timedelta(hours=5))
    radius = request.getfixturevalue("radius")
    reply = exchange(access_request("gina", password=PASSWORD), radius.auth_port)
    assert reply.accepted
    assert reply.get("Framed-Pool") == "walled-garden"
    assert reply.get("Session-Timeout") is None
    assert _reason(radius, "gina") == [("accept", "walled_garden")]


def test_unpaid_subscriber_in_grace_is_rejected_by_default(radius_world, request):
    radius_world.subscriber("hank", status="active",
                            expires_at=timezone.now() - timedelta(hours=5))
    radius = request.getfixturevalue("radius")
    reply = exchange(access_request("hank", password=PASSWORD), radius.auth_port)
    assert reply.code == c.ACCESS_REJECT
    assert _reason(radius, "hank") == [("reject", "expired")]


def test_tenant_without_billing_settings_follows_the_deployment_default(radius_world, settings,
                                                                        request):
    BillingSettings.objects.filter(tenant=radius_world.tenant).delete()
    settings.RADIUS_UNPAID_MODE = "walled_garden"
    radius_world.subscriber("ivan", status="expired",
                            expires_at=timezone.now() - timedelta(days=2))
    radius = request.getfixturevalue("radius")
    reply = exchange(access_request("ivan", password=PASSWORD), radius.auth_port)
    assert reply.accepted and reply.get("Framed-Pool") == "walled-garden"


def test_limited_subscriber_gets_the_fup_rate(radius_world, request):
    radius_world.subscriber("erin", status="limited")
    radius = request.getfixturevalue("radius")
    reply = exchange(access_request("erin", password=PASSWORD), radius.auth_port)
    assert reply.accepted and reply.get("Mikrotik-Rate-Limit") == "1M/2M"


def test_reply_attributes_follow_the_nas_vendor(radius_world, request):
    from modules.plans.services import reply_attributes

    radius = request.getfixturevalue("radius")
    for vendor in ("cisco", "juniper", "huawei", "mikrotik"):
        NasDevice.objects.filter(pk=radius_world.nas.pk).update(vendor=vendor)
        expected = reply_attributes(radius_world.plan, vendor)
        first = expected[0][0]
        assert radius.wait_for(lambda first=first: exchange(access_request(
            "alice", password=PASSWORD), radius.auth_port).all(first)), vendor
        reply = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
        for name, value in expected:
            assert str(value) in [str(v) for v in reply.all(name)], (vendor, name)
        if vendor != "mikrotik":
            assert not reply.all("Mikrotik-Rate-Limit")


def test_framed_ip_from_static_address_or_portal_pool(radius_world, request):
    radius_world.subscriber("frank", static_ipv4="100.64.9.9")
    pool = Ipv4Pool.objects.create(organization=radius_world.root, name="pppoe-pool",
                                   ranges="100.65.0.0/30", exclusions="")
    sync_pool_addresses(pool)
    radius = request.getfixturevalue("radius")
    static = exchange(access_request("frank", password=PASSWORD), radius.auth_port)
    assert static.get("Framed-IP-Address") == "100.64.9.9" and not static.all("Framed-Pool")
    leased = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert leased.get("Framed-IP-Address") == "100.65.0.1" and not leased.all("Framed-Pool")
    again = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert again.get("Framed-IP-Address") == "100.65.0.1"  # sticky


def test_delegated_ipv6_prefix_from_the_subscriber_or_a_prefix_pool(radius_world, request):
    radius_world.subscriber("fiona", ipv6_prefix="2001:db8:ff00::/56")
    radius_world.subscriber("bob")
    Ipv6Pool.objects.create(organization=radius_world.root, name="pd-pool",
                            prefix="2001:db8:1000::/40", delegated_length=56)
    radius = request.getfixturevalue("radius")
    fixed = exchange(access_request("fiona", password=PASSWORD), radius.auth_port)
    assert str(fixed.get("Delegated-IPv6-Prefix")) == "2001:db8:ff00::/56"
    first = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert str(first.get("Delegated-IPv6-Prefix")) == "2001:db8:1000::/56"
    second = exchange(access_request("bob", password=PASSWORD), radius.auth_port)
    assert str(second.get("Delegated-IPv6-Prefix")) == "2001:db8:1000:100::/56"
    again = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert str(again.get("Delegated-IPv6-Prefix")) == "2001:db8:1000::/56"  # sticky
    lease = Ipv6Lease.objects.get(prefix="2001:db8:1000::/56")
    assert lease.subscriber.username == "alice"


def test_subscriber_pool_overrides_the_plans(radius_world, request):
    """A pool of Networking leases an address; any other name is left to the NAS."""
    radius_world.subscriber("gold", ip_pool_name="business")
    radius_world.subscriber("nasbound", ip_pool_name="nas-side-pool")
    for name, ranges in (("pppoe-pool", "100.65.0.0/30"), ("business", "100.66.0.0/30")):
        sync_pool_addresses(Ipv4Pool.objects.create(organization=radius_world.root, name=name,
                                                    ranges=ranges, exclusions=""))
    radius = request.getfixturevalue("radius")
    gold = exchange(access_request("gold", password=PASSWORD), radius.auth_port)
    assert gold.get("Framed-IP-Address") == "100.66.0.1" and not gold.all("Framed-Pool")
    plain = exchange(access_request("alice", password=PASSWORD), radius.auth_port)
    assert plain.get("Framed-IP-Address") == "100.65.0.1"
    nas_side = exchange(access_request("nasbound", password=PASSWORD), radius.auth_port)
    assert nas_side.all("Framed-Pool") == ["nas-side-pool"]
    assert nas_side.get("Framed-IP-Address") is None


def test_changes_apply_without_restart(radius_world, radius):
    from modules.subscribers import services as subscriber_services

    assert exchange(access_request("alice", password=PASSWORD), radius.auth_port).accepted
    subscriber_services.suspend(Subscriber.objects.get(username="alice"), actor=None,
                                reason="unpaid")
    assert radius.wait_for(lambda: exchange(access_request("alice", password=PASSWORD),
                                            radius.auth_port).code == c.ACCESS_REJECT)
    NasDevice.objects.filter(pk=radius_world.nas.pk).update(secret="changed-secret")
    assert radius.wait_for(lambda: exchange(access_request("alice", password=PASSWORD),
                                            radius.auth_port, timeout=0.3) is None)
