"""The demo catalog and subscribers load, fill every daily list, and load twice unchanged."""

from fixtures.demo import DEMO_PASSWORD, core, plans, subscribers
from modules.plans.models import Plan
from modules.subscribers import selectors
from modules.subscribers.models import StatusChange, Subscriber


def _load():
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    for loader in (core, plans, subscribers):
        loader.load(ctx)
    return ctx


def _snapshot():
    return (sorted(Plan.objects.values_list("code", "price", "organization__code")),
            sorted(Subscriber.objects.values_list("username", "status", "plan__code",
                                                  "organization__code")),
            StatusChange.objects.count())


def test_demo_data_loads_twice_without_change(db):
    ctx = _load()
    first = _snapshot()
    _load()
    assert _snapshot() == first
    demo = Subscriber.objects.filter(tenant=ctx["tenant"])
    for name in ("expiring_3", "expired", "suspended", "limited", "new", "recent"):
        assert selectors.daily_list(demo, name).exists(), name
    assert demo.filter(status="terminated").exists()
    assert demo.get(username="aarav.joshi1").get_password() == DEMO_PASSWORD
