"""Reads of billing state used by services, admin, tasks and other modules."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from modules.billing.models import BillingSettings, Invoice, LedgerEntry, Wallet
from modules.settings_hub.selectors import general_settings


def billing_settings(tenant_or_id) -> BillingSettings:
    """The tenant's Billing Engine settings; the defaults when the row is not saved yet."""
    tenant_id = getattr(tenant_or_id, "pk", tenant_or_id)
    found = BillingSettings.objects.filter(tenant_id=tenant_id).first()
    return found or BillingSettings(tenant_id=tenant_id)


def tenant_currency(tenant_or_id) -> str:
    from modules.core.models import Tenant

    tenant = (
        tenant_or_id if isinstance(tenant_or_id, Tenant) else Tenant.objects.get(pk=tenant_or_id)
    )
    return (general_settings(tenant).currency or "INR").upper()


def wallet_of_subscriber(subscriber) -> Wallet | None:
    return Wallet.objects.filter(subscriber=subscriber).first()


def wallet_of_organization(organization) -> Wallet | None:
    return Wallet.objects.filter(owner_organization=organization).first()


def balance_from_entries(wallet: Wallet) -> Decimal:
    """The balance recomputed from the ledger (must equal `wallet.balance`)."""
    total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def open_invoices(subscriber):
    return Invoice.objects.filter(
        subscriber=subscriber, status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID]
    ).order_by("due_date", "id")


def outstanding(subscriber) -> Decimal:
    rows = open_invoices(subscriber).values_list("total", "amount_paid")
    return sum((t - p for t, p in rows), Decimal("0"))
