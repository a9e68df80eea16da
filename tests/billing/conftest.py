from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from modules.billing.models import BillingSettings
from modules.plans.models import TaxClass
from modules.settings_hub.models import GeneralSettings
from modules.subscribers.models import Subscriber
from tests.plans.samples import make_plan
from tests.subscribers.samples import make_subscriber
from tests.world import build_world


@dataclass
class Billing:
    world: object
    settings: BillingSettings
    plan: object
    gold: object
    booster: object

    @property
    def admin(self):
        return self.world.users["isp_admin"]

    def subscriber(self, org="lco1", *, status=Subscriber.Status.ACTIVE, days_left=10, **fields):
        org = self.world.orgs[org]
        expires = timezone.now() + timedelta(days=days_left) if status != "new" else None
        fields.setdefault("state", "Maharashtra")
        return make_subscriber(
            org,
            plan=self.plan,
            status=status,
            expires_at=expires,
            activated_at=timezone.now() - timedelta(days=20),
            **fields,
        )


def make_billing_world():
    world = build_world()
    tenant = world.tenant
    GeneralSettings.objects.create(
        tenant=tenant,
        company_name="Alpha Broadband",
        tax_number="27AABCS1234F1Z5",
        state="Maharashtra",
        currency="INR",
        timezone="Asia/Kolkata",
    )
    settings = BillingSettings.objects.create(tenant=tenant)
    gst = TaxClass.objects.create(
        tenant=tenant, name="GST 18", rate=Decimal("18"), hsn_sac="998422"
    )
    root = world.orgs["root"]
    plan = make_plan(root, name="Fiber 50", price=Decimal("500.00"), tax_class=gst)
    gold = make_plan(root, name="Fiber 200", price=Decimal("1000.00"), tax_class=gst)
    booster = make_plan(
        root,
        name="Booster",
        price=Decimal("100.00"),
        tax_class=gst,
        plan_type="booster",
        validity_value=7,
    )
    return Billing(world, settings, plan, gold, booster)


@pytest.fixture
def tasks_inline():
    """Work queued after commit (disconnecting an expired subscriber) runs in the test."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(scope="module")
def billing_shared(django_db_setup, django_db_blocker):
    """The billing world built once per test module, in a transaction rolled back after it;
    each test runs in its own savepoint inside (see `billing`)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield make_billing_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def billing(billing_shared, db):
    billing_shared.settings.refresh_from_db()  # a previous test may have changed it in memory
    return billing_shared


@pytest.fixture
def billing_tx(transactional_db, tasks_inline):
    return make_billing_world()
