"""Many threads (each with its own database connection) on the same wallets: money is never
created or lost, floors hold, and document numbers stay unique and gap-free."""

import random
import threading
from decimal import Decimal as D

from django.db import connection
from django.db.models import Sum
from django.test import Client

from modules.billing import (
    cancellations,
    invoicing,
    ledger,
    orchestration,
    payments,
    renewals,
)
from modules.billing.models import Invoice, LedgerEntry, Payment, Proforma, Wallet
from modules.billing.money import BillingError
from modules.subscribers.models import Subscriber
from modules.subscribers.services import TransitionError
from tests.billing.samples import make_gateway
from tests.billing.test_webhooks import SECRET, post_razorpay, razorpay_body


def run_threads(count, work):
    errors = []

    def runner(index):
        try:
            work(index)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def assert_gap_free(model):
    sequences = sorted(model.objects.exclude(sequence=None).values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    numbers = list(model.objects.exclude(number="").values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))


def assert_ledger_consistent():
    sums = dict(LedgerEntry.objects.values_list("wallet").annotate(s=Sum("amount")))
    for wallet in Wallet.objects.all():
        assert wallet.balance == sums.get(wallet.pk, 0), wallet
        assert wallet.balance >= 0, wallet
    assert renewals.balance_check() == []


def test_two_renewal_runs_at_once_renew_and_charge_each_subscriber_once(billing_tx):
    subs = []
    for i in range(30):
        sub = billing_tx.subscriber(("lco1", "lco2", "partner")[i % 3], days_left=-1)
        ledger.credit(ledger.subscriber_wallet(sub), "590.00", memo="Advance")
        subs.append(sub)
    counts = []
    run_threads(2, lambda i: counts.append(renewals.renew_due(batch_size=4)))
    assert sum(counts) == 30
    assert Invoice.objects.count() == 30
    assert set(Invoice.objects.values_list("subscriber_id", flat=True)) == {s.pk for s in subs}
    assert LedgerEntry.objects.filter(kind="invoice").count() == 30
    assert_gap_free(Invoice)
    assert_ledger_consistent()
    assert renewals.renew_due() == 0


def test_threads_renewing_paying_cancelling_and_transferring_never_lose_money(billing_tx):
    subs = [billing_tx.subscriber(org, days_left=1) for org in ("lco1", "lco1", "lco2")]
    admin, checker = billing_tx.admin, billing_tx.world.users["dist"]

    def work(index):
        rng = random.Random(index)
        for _ in range(12):
            sub = rng.choice(subs)
            op = rng.choice(["pay", "pay", "renew", "renew", "cancel", "transfer"])
            try:
                if op == "pay":
                    payments.record_payment(
                        sub, f"{rng.randint(100, 700)}.50", actor=admin, method="cash"
                    )
                elif op == "renew":
                    orchestration.renew_and_bill(sub, actor=admin, require_paid=True)
                elif op == "cancel":
                    payment = (
                        Payment.objects.filter(subscriber=sub, status="received")
                        .order_by("?")
                        .first()
                    )
                    if payment:
                        request = cancellations.request_cancellation(
                            payment, actor=admin, reason="Bounced"
                        )
                        cancellations.approve_cancellation(request, actor=checker)
                else:
                    other = rng.choice([s for s in subs if s.pk != sub.pk])
                    ledger.transfer(
                        ledger.subscriber_wallet(sub),
                        ledger.subscriber_wallet(other),
                        f"{rng.randint(1, 300)}.00",
                        memo="Family transfer",
                    )
            except (BillingError, TransitionError):
                pass  # refusals (no balance, already pending) are expected; they change nothing

    run_threads(6, work)
    assert_ledger_consistent()
    assert_gap_free(Invoice)
    assert_gap_free(Payment)
    received = Payment.objects.filter(status="received").aggregate(s=Sum("amount"))["s"] or D(0)
    settled = Invoice.objects.exclude(status="cancelled").aggregate(s=Sum("amount_paid"))["s"] or D(
        0
    )
    balances = Wallet.objects.aggregate(s=Sum("balance"))["s"] or D(0)
    assert balances == received - settled  # transfers move money, never make it


def test_simultaneous_deliveries_settle_once(billing_tx):
    sub = billing_tx.subscriber(status=Subscriber.Status.EXPIRED, days_left=-3)
    proforma = invoicing.create_proforma(sub, billing_tx.plan, actor=None)
    Proforma.objects.filter(pk=proforma.pk).update(gateway_order_id="order_N1")
    gateway = make_gateway(billing_tx.world.orgs["root"], secret=SECRET)
    bodies = [(razorpay_body("order_N1"), f"evt_{i % 2}") for i in range(6)]
    answers = []

    def deliver(index):
        body, event_id = bodies[index]
        answers.append(post_razorpay(Client(), gateway, body, event_id=event_id).status_code)

    run_threads(len(bodies), deliver)
    assert answers == [200] * len(bodies)
    assert Payment.objects.count() == 1 and Invoice.objects.count() == 1
    assert Invoice.objects.get().status == Invoice.Status.PAID
    wallet = ledger.subscriber_wallet(sub)
    assert wallet.balance == 0
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 2  # payment in, invoice out
