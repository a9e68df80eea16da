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


def policy_from(settings: BillingSettings, zone):
    """The expiry policy plans apply, from the tenant's renewal rules."""
    from modules.plans.services import ExpiryPolicy

    calendar = settings.cycle == BillingSettings.Cycle.CALENDAR
    return ExpiryPolicy(zone=zone, expiry_time=settings.expiry_time,
                        cycle_day=settings.bill_cycle_day if calendar else None)


def expiry_policy(tenant_id):
    """The tenant's expiry policy (registered with plans, which computes every expiry)."""
    from modules.plans.services import tenant_zone

    return policy_from(billing_settings(tenant_id), tenant_zone(tenant_id))


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
