"""The demo ISP has portal settings and a subscriber who signs in to self-care."""

from django.test import Client

from fixtures.demo import DEMO_PASSWORD, LOADERS
from fixtures.demo import core as demo_core
from fixtures.demo import selfcare as demo_selfcare
from modules.billing.models import Payment
from modules.selfcare.models import PortalSettings
from modules.subscribers.models import Subscriber


def test_demo_subscriber_signs_in_and_loading_twice_changes_nothing(db):
    assert ("selfcare", "selfcare") in LOADERS
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    for _ in range(2):
        demo_core.load(ctx)
        demo_selfcare.load(ctx)
    assert PortalSettings.objects.filter(tenant=ctx["tenant"]).count() == 1
    subscriber = Subscriber.objects.get(username="demo-home")
    assert subscriber.status == "active"
    assert Payment.objects.filter(subscriber=subscriber).count() == 1
    assert ctx["logins"].count(("Subscriber self-care, /portal/login", "demo-home")) == 1
    client = Client()
    response = client.post("/portal/login", {"login": "demo-home", "password": DEMO_PASSWORD})
    assert response["Location"] == "/portal/"
    assert "Priya Sharma" in client.get("/portal/").content.decode()
