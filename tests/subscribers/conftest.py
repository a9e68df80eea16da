import pytest

from config.celery import app as celery_app
from modules.plans.models import Plan
from tests.plans.samples import make_plan
from tests.subscribers.samples import make_subscriber


@pytest.fixture
def plan(world):
    return make_plan(world.orgs["root"], code="fiber-100", name="Fiber 100",
                     download_kbps=100_000, upload_kbps=50_000)


@pytest.fixture
def topup(world):
    return make_plan(world.orgs["root"], code="data-50", name="50 GB top-up",
                     plan_type=Plan.Type.TOPUP, quota_mb=51200, download_kbps=0, upload_kbps=0,
                     validity_value=30)


@pytest.fixture
def subscriber_at(world, plan):
    """A subscriber owned by a named world organization, in a given status."""

    def make(org_name="lco1", status="new", **fields):
        fields.setdefault("plan", plan)
        return make_subscriber(world.orgs[org_name], status=status, **fields)

    return make


@pytest.fixture(autouse=True)
def tasks_inline():
    """Network work queued after a lifecycle change (disconnect, CoA) runs in the test."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
