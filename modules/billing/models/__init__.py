from modules.billing.models.documents import (
    Allocation,
    CancellationRequest,
    CreditNote,
    Invoice,
    InvoiceLine,
    LineTax,
    Payment,
    Proforma,
)
from modules.billing.models.gateways import OutboundMessage, PaymentGateway, WebhookEvent
from modules.billing.models.ledger import DocumentCounter, LedgerEntry, Wallet
from modules.billing.models.settings import BillingSettings

__all__ = [
    "Allocation",
    "BillingSettings",
    "CancellationRequest",
    "CreditNote",
    "DocumentCounter",
    "Invoice",
    "InvoiceLine",
    "LedgerEntry",
    "LineTax",
    "OutboundMessage",
    "Payment",
    "PaymentGateway",
    "Proforma",
    "Wallet",
    "WebhookEvent",
]
