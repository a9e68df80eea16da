"""Parallel renewals by one partner, each thread on its own database connection: the wallet
never goes below its credit limit and no entry is lost (balance == sum of entries)."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.models import Sum

from config.celery import app as celery_app
from modules.billing import ledger, orchestration
from modules.billing.models import Invoice, LedgerEntry
from modules.billing.money import BillingError
from modules.partners import services


@pytest.fixture
def eager_tasks():
    """Committed renewals queue network tasks; run them inline instead of through a broker."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_parallel_renewals_stop_at_the_credit_limit_and_lose_nothing(pw_tx, eager_tasks):
    pw = pw_tx
    services.share_plan(pw.plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                        partner_price="300.00", selling_price="500.00")
    services.share_plan(pw.plan, pw.orgs["lco1"], actor=pw.users["dist"],
                        partner_price="400.00", selling_price="500.00")
    services.update_partner(pw.profile("lco1"), actor=pw.users["dist"], credit_limit=D("500"))
    wallet = ledger.organization_wallet(pw.orgs["lco1"])
    ledger.credit(wallet, "1000.00", memo="Opening balance")
    subs = [pw.subscriber("lco1") for _ in range(8)]
    actor = pw.users["lco1"]
    done, refused, errors = [], [], []
    barrier = threading.Barrier(len(subs))

    def renew(sub):
        try:
            barrier.wait()
            orchestration.renew_and_bill(sub, actor=actor)
            done.append(sub.pk)
        except BillingError:
            refused.append(sub.pk)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=renew, args=(s,)) for s in subs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(done) == 3 and len(refused) == 5  # 1000 + 500 credit covers three at 400
    wallet.refresh_from_db()
    assert wallet.balance == D("-200.00") and wallet.balance >= -wallet.credit_limit
    total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"]
    assert total == wallet.balance
    assert Invoice.objects.filter(subscriber_id__in=done).count() == 3
    assert not Invoice.objects.filter(subscriber_id__in=refused).exists()
