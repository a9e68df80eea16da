from decimal import Decimal

from modules.billing import cancellations, invoicing, ledger, payments
from modules.billing.gateways import set_secrets
from modules.billing.models import (
    BillingSettings,
    LedgerEntry,
    OutboundMessage,
    PaymentGateway,
    WebhookEvent,
)
from modules.billing.tax import LineInput
from modules.core.models import User
from tests.samples import sample
from tests.subscribers.samples import make_subscriber

_counter = iter(range(1, 10**9))


def line(price="100.00", rate="18.00", description="Fiber 100 Mbps"):
    return LineInput(description, Decimal(price), Decimal(rate), hsn_sac="998422")


def make_invoice(org, **kwargs):
    return invoicing.create_invoice(make_subscriber(org), [line()], actor=None, **kwargs)


def make_payment(org, amount="50.00"):
    return payments.record_payment(make_subscriber(org), amount, actor=None, method="cash")


@sample("billing.billingsettings")
def billing_settings(org):
    return BillingSettings.objects.get_or_create(tenant=org.tenant)[0]


@sample("billing.invoice")
def invoice(org):
    return make_invoice(org)


@sample("billing.payment")
def payment(org):
    return make_payment(org)


@sample("billing.proforma")
def proforma(org):
    from tests.plans.samples import make_plan

    return invoicing.create_proforma(make_subscriber(org), make_plan(org), actor=None)


@sample("billing.creditnote")
def credit_note(org):
    return invoicing.issue_credit_note(make_subscriber(org), "10.00", actor=None, reason="Outage")


@sample("billing.cancellationrequest")
def cancellation_request(org):
    maker = User.objects.create(username=f"maker{next(_counter)}", organization=org)
    return cancellations.request_cancellation(make_invoice(org), actor=maker, reason="Wrong plan")


@sample("billing.wallet")
def wallet(org):
    return ledger.organization_wallet(org)


@sample("billing.ledgerentry")
def ledger_entry(org):
    return ledger.credit(
        ledger.subscriber_wallet(make_subscriber(org)),
        "25.00",
        kind=LedgerEntry.Kind.ADJUSTMENT,
        memo="Opening balance",
    )


def make_gateway(org, provider="razorpay", secret="whsec_test"):
    gateway = PaymentGateway(
        tenant=org.tenant,
        provider=provider,
        name=f"{provider} {next(_counter)}",
        key_id="rzp_test_key",
    )
    set_secrets(gateway, key_secret="key-secret", webhook_secret=secret)
    gateway.save()
    return gateway


@sample("billing.paymentgateway")
def payment_gateway(org):
    return make_gateway(org)


@sample("billing.webhookevent")
def webhook_event(org):
    return WebhookEvent.objects.create(
        gateway=make_gateway(org),
        event_id=f"evt_{next(_counter)}",
        event_type="payment.failed",
        payload={},
    )


@sample("billing.outboundmessage")
def outbound_message(org):
    sub = make_subscriber(org)
    return OutboundMessage.objects.create(
        tenant=org.tenant,
        subscriber=sub,
        event="expiry_reminder",
        channel="sms",
        recipient=sub.mobile,
        body="Renew soon",
        dedupe_key=f"sample:{next(_counter)}",
    )
