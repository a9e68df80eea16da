"""The demo network loads once, changes nothing the second time, and serves radtest at once."""

from fixtures.demo import DEMO_PASSWORD, core, networking
from modules.networking.models import DailyUsage, Ipv4Lease, Ipv4Pool, Ipv6Pool, NasDevice
from modules.subscribers.models import Subscriber


def _state():
    return (
        list(NasDevice.objects.order_by("pk").values_list("address", "secret", "vendor")),
        list(Ipv4Pool.objects.order_by("pk").values_list("name", "ranges")),
        Ipv6Pool.objects.count(),
        Ipv4Lease.objects.count(),
        sorted(Subscriber.objects.values_list("username", "status", "plan__code")),
        DailyUsage.objects.count(),
    )


def test_demo_network_loads_and_loading_again_changes_nothing(db):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    core.load(ctx)
    networking.load(ctx)
    first = _state()
    networking.load(ctx)
    assert _state() == first

    local = NasDevice.objects.get(address="127.0.0.1")
    assert local.secret == "testing123"
    states = {username: status for username, status, _plan in first[4]}
    assert {states[name] for name in networking.RADIUS_DEMO} == {
        "active", "expired", "suspended", "limited"}
    assert Subscriber.objects.get(username="demo-active").get_password() == DEMO_PASSWORD
    # a /22 less network, broadcast and the excluded gateway
    assert Ipv4Lease.objects.filter(pool__name="pppoe-pool").count() == 1021
