"""A self-care world: the billing world (Alpha with GST plans) plus two subscribers of LCO 1
with money in their wallets, and a client that signs in through the portal's own page."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from modules.billing.payments import record_payment
from modules.selfcare.models import PortalSettings
from modules.subscribers.models import Subscriber
from tests.billing.conftest import make_billing_world
from tests.plans.samples import make_plan
from tests.subscribers.samples import make_subscriber

SUB_PASSWORD = "Home-Secret-42"


@dataclass
class Portal:
    billing: object
    settings: PortalSettings
    alice: Subscriber
    bob: Subscriber
    topup: object

    @property
    def world(self):
        return self.billing.world

    def configure(self, **flags):
        for name, value in flags.items():
            setattr(self.settings, name, value)
        self.settings.save()

    def client_for(self, subscriber=None, password=SUB_PASSWORD) -> Client:
        client = Client()
        subscriber = subscriber or self.alice
        response = client.post("/portal/login", {"login": subscriber.username,
                                                 "password": password})
        assert response.status_code == 302 and response["Location"] == "/portal/", response
        return client


def make_portal() -> Portal:
    billing = make_billing_world()
    lco1 = billing.world.orgs["lco1"]
    now = timezone.now()

    def subscriber(username, mobile):
        return make_subscriber(lco1, username=username, name=username.title(), mobile=mobile,
                               password=SUB_PASSWORD, plan=billing.plan, status="active",
                               state="Maharashtra", activated_at=now - timedelta(days=20),
                               expires_at=now + timedelta(days=10), address="12 MG Road")

    alice = subscriber("alice", "+919822000001")
    bob = subscriber("bob", "+919822000002")
    for person in (alice, bob):
        record_payment(person, Decimal("2000.00"), actor=billing.admin, method="cash")
    topup = make_plan(billing.world.orgs["root"], name="10 GB top-up", plan_type="topup",
                      price=Decimal("50.00"), quota_mb=10240, download_kbps=0, upload_kbps=0,
                      validity_value=30, tax_class=billing.plan.tax_class)
    settings = PortalSettings.objects.create(tenant=billing.world.tenant)
    return Portal(billing, settings, alice, bob, topup)


@pytest.fixture(scope="module")
def _portal_world(django_db_setup, django_db_blocker):
    """Built once per test module; each test runs in a savepoint rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = make_portal()
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def portal(_portal_world, db):
    p = _portal_world
    for row in (p.settings, p.alice, p.bob, p.topup, p.billing.settings, p.billing.plan,
                p.billing.gold, p.billing.booster):
        row.refresh_from_db()
    return p
