from fixtures.demo import DEMO_PASSWORD, billing, core, plans, subscribers
from modules.billing import renewals
from modules.billing.models import (
    CancellationRequest,
    CreditNote,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentGateway,
    Proforma,
)


def test_demo_billing_loads_balanced_and_loading_again_changes_nothing(db, tasks_inline):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    for loader in (core, plans, subscribers, billing):
        loader.load(ctx)

    def snapshot():
        return [model.objects.count() for model in (
            Invoice, Payment, LedgerEntry, CreditNote, Proforma, CancellationRequest,
            PaymentGateway)]

    counts = snapshot()
    billing.load(ctx)
    assert snapshot() == counts
    assert Invoice.objects.filter(status=Invoice.Status.PAID).count() >= 3
    assert Invoice.objects.filter(status=Invoice.Status.ISSUED).exists()
    assert CancellationRequest.objects.filter(status="pending").count() == 1
    assert Proforma.objects.count() == 1 and CreditNote.objects.count() == 1
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert all(number.startswith("SKY/") for number in Invoice.objects.values_list(
        "number", flat=True))
    assert renewals.balance_check() == []
