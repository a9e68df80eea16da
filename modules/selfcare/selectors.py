"""Reads for self-care: always through the signed-in subscriber, so another subscriber's rows
are never reachable whatever id a request carries."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from modules.billing import ledger
from modules.billing.models import Invoice, Payment
from modules.billing.selectors import billing_settings, outstanding, wallet_of_subscriber
from modules.networking.fup import current_cycle_start
from modules.networking.models import CycleUsage, DailyUsage
from modules.networking.selectors import online_sessions
from modules.plans.models import Plan
from modules.plans.selectors import available_to_organization
from modules.selfcare.models import PortalSettings
from modules.settings_hub.selectors import general_settings
from modules.subscribers.models import Subscriber
from modules.subscribers.validation import normalize_mobile, tenant_region

GRAPH_DAYS = 30
ADDON_TYPES = (Plan.Type.TOPUP, Plan.Type.BOOSTER)


def portal_settings(tenant) -> PortalSettings:
    """The tenant's portal settings; the defaults while none are saved."""
    if tenant is None:
        return PortalSettings()
    return PortalSettings.objects.filter(tenant=tenant).first() or PortalSettings(tenant=tenant)


def pay_link(tenant_id: int) -> str:
    """Where the tenant's subscribers pay: the portal's renewal page on the tenant's primary
    host (the billing page when self-care renewal is off); "" when the tenant has no host.
    Signing in first brings the subscriber back to it."""
    from django.conf import settings as django_settings
    from django.urls import reverse

    from modules.core.models import Tenant, TenantDomain

    host = (TenantDomain.objects.filter(tenant_id=tenant_id).order_by("-is_primary", "domain")
            .values_list("domain", flat=True).first())
    if not host:
        return ""
    portal = portal_settings(Tenant.objects.filter(pk=tenant_id).first())
    page = reverse("selfcare:renew" if portal.allow_renewal else "selfcare:billing")
    scheme = "http" if django_settings.DEBUG else "https"
    return f"{scheme}://{host}{page}"


def branding(tenant, settings: PortalSettings) -> dict:
    general = general_settings(tenant)
    logo = settings.logo or general.logo
    return {"title": settings.portal_title or general.company_name,
            "logo_url": logo.url if logo else "", "primary": settings.primary_colour,
            "accent": settings.accent_colour, "welcome": settings.welcome_text,
            "support_phone": general.support_phone, "support_email": general.support_email,
            "maintenance": general.maintenance_mode,
            "currency": (general.currency or "INR").upper()}


def subscriber_for_login(tenant, login: str, settings: PortalSettings) -> Subscriber | None:
    """The subscriber a login names: its username, or a mobile number that only it carries."""
    login = (login or "").strip()
    if tenant is None or not login:
        return None
    base = Subscriber.objects.filter(tenant=tenant).exclude(status=Subscriber.Status.TERMINATED)
    if settings.login_with_username:
        found = base.filter(username__iexact=login).first()
        if found:
            return found
    if settings.login_with_mobile and sum(c.isdigit() for c in login) >= 6:
        try:
            mobile = normalize_mobile(login, tenant_region(tenant.pk))
        except ValidationError:  # not a phone number: no match
            return None
        matches = list(base.filter(mobile=mobile)[:2])
        if len(matches) == 1:  # a number shared by several connections names none of them
            return matches[0]
    return None


def signed_in_subscriber(tenant, subscriber_id) -> Subscriber | None:
    if tenant is None or not subscriber_id:
        return None
    return (Subscriber.objects.select_related("plan", "organization")
            .exclude(status=Subscriber.Status.TERMINATED)
            .filter(tenant=tenant, pk=subscriber_id).first())


def _plans_for_organization(organization) -> QuerySet[Plan]:
    """Plans the partners module offers this organization, else the ISP's own rule."""
    try:
        partners = importlib.import_module("modules.partners.selectors")
    except ModuleNotFoundError:
        partners = None
    if partners is not None and hasattr(partners, "plans_for_organization"):
        return partners.plans_for_organization(organization)
    return available_to_organization(organization)


def offered_plans(subscriber: Subscriber, kinds=(Plan.Type.BROADBAND,)) -> QuerySet[Plan]:
    """Plans shown in self-care to this subscriber: visible, active, sellable by its owner."""
    return (_plans_for_organization(subscriber.organization)
            .filter(plan_type__in=kinds, visible_in_selfcare=True, is_active=True)
            .select_related("tax_class", "organization").order_by("price", "name"))


def offered_plan(subscriber: Subscriber, plan_id, kinds=(Plan.Type.BROADBAND,)) -> Plan | None:
    return offered_plans(subscriber, kinds).filter(pk=plan_id).first()


def is_upgrade(subscriber: Subscriber, plan: Plan) -> bool:
    """Dearer than the current plan (or faster at the same price) is an upgrade."""
    current = subscriber.plan
    if current is None:
        return True
    return (plan.price, plan.download_kbps) > (current.price, current.download_kbps)


def wallet(subscriber: Subscriber) -> dict:
    found = wallet_of_subscriber(subscriber)
    balance = found.balance if found else Decimal(0)
    spendable = Decimal(0)
    if found:
        spendable = ledger.available(found, billing_settings(subscriber.tenant_id))
    return {"balance": balance, "available": spendable, "outstanding": outstanding(subscriber)}


def is_online(subscriber: Subscriber) -> bool:
    return online_sessions(subscriber.pk).exists()


def current_cycle(subscriber: Subscriber, now=None) -> dict:
    """Data used this quota cycle (with limit and percent when the plan has a quota)."""
    now = now or timezone.now()
    start = current_cycle_start(subscriber, now)
    if start is not None:
        row = CycleUsage.objects.filter(subscriber=subscriber, cycle_start=start).first()
        used = row.octets if row else 0
        limit = row.limit_octets if row else subscriber.plan.quota_mb * 1024 * 1024
        percent = round(100 * used / limit, 1) if limit else None
        return {"start": start, "used": used, "limit": limit, "percent": percent,
                "boosted": bool(row and row.boosted)}
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = sum(d.total_octets for d in daily_usage(subscriber, since=start.date()))
    return {"start": start, "used": used, "limit": None, "percent": None, "boosted": False}


def daily_usage(subscriber: Subscriber, *, since=None, days: int = GRAPH_DAYS) -> list[DailyUsage]:
    since = since or (timezone.localdate() - timedelta(days=days - 1))
    return list(DailyUsage.objects.filter(subscriber=subscriber, day__gte=since).order_by("day"))


def invoices(subscriber: Subscriber) -> QuerySet[Invoice]:
    return Invoice.objects.filter(subscriber=subscriber).exclude(status=Invoice.Status.DRAFT)


def invoice(subscriber: Subscriber, invoice_id) -> Invoice | None:
    return invoices(subscriber).select_related("tenant").filter(pk=invoice_id).first()


def payments(subscriber: Subscriber) -> QuerySet[Payment]:
    return Payment.objects.filter(subscriber=subscriber)


def payment(subscriber: Subscriber, payment_id) -> Payment | None:
    return payments(subscriber).select_related("tenant").filter(pk=payment_id).first()


def tickets(subscriber: Subscriber):
    from modules.support.selectors import tickets_for_subscriber

    return tickets_for_subscriber(subscriber)


def ticket(subscriber: Subscriber, ticket_id):
    return tickets(subscriber).filter(pk=ticket_id).first()
