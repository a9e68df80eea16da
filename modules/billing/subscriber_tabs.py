"""The Billing tabs of the subscriber's page: invoices, payments and the wallet balance."""

from __future__ import annotations

from modules.billing.models import Invoice, Payment, Wallet
from modules.subscribers.page_tabs import SubscriberPageInline, show_on_subscriber_page


class SubscriberInvoiceInline(SubscriberPageInline):
    model = Invoice
    fk_name = "subscriber"
    fields = ["number", "issue_date", "reason", "total", "amount_paid", "status"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "invoices"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-pk")


class SubscriberPaymentInline(SubscriberPageInline):
    model = Payment
    fk_name = "subscriber"
    fields = ["number", "received_at", "method", "amount", "reference", "status"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "payments"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-received_at", "-pk")


class SubscriberWalletInline(SubscriberPageInline):
    model = Wallet
    fk_name = "subscriber"
    fields = ["balance", "currency"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "wallet"


def register() -> None:
    show_on_subscriber_page(SubscriberInvoiceInline, SubscriberPaymentInline,
                            SubscriberWalletInline)
