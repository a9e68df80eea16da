"""The module map: sidebar groups, their entry URLs, and who may see each item.

Items are model admins (by label) or named views with their own permission check. An item
whose app is not installed is left out; a module with no installed item shows an empty state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Item:
    target: str  # "app_label.model_name", or a URL name for a custom page
    title: str | None = None
    icon: str = "chevron_right"
    permission: str | None = None  # for custom pages: "app.codename" the user must hold


@dataclass(frozen=True)
class Module:
    key: str
    title: str
    icon: str
    path: str  # the URL operators know, e.g. "subscribers/index"
    items: tuple[Item, ...] = field(default_factory=tuple)


MODULES: tuple[Module, ...] = (
    Module("dashboard", "Dashboard", "dashboard", "dashboard/index", (
        Item("admin:index", "Overview", "dashboard"),
    )),
    Module("subscribers", "Subscribers", "group", "subscribers/index", (
        Item("subscribers.subscriber", icon="person"),
        Item("subscribers.kycdocument", icon="badge"),
        Item("subscribers.statuschange", icon="history"),
    )),
    Module("plans", "Plans", "sell", "plans/index", (
        Item("plans.plan", icon="sell"),
        Item("plans.taxclass", icon="percent"),
    )),
    Module("partners", "Partners", "handshake", "partners/index", (
        Item("partners.partner", icon="handshake"),
        Item("core.organization", "Organization tree", "account_tree"),
        Item("partners.partnerwallet", icon="account_balance_wallet"),
        Item("partners.topuprequest", icon="add_card"),
        Item("partners.planshare", icon="share"),
        Item("partners.commissiontemplate", icon="paid"),
        Item("partners.commission", icon="percent"),
        Item("partners.settlement", icon="payments"),
    )),
    Module("networking", "Networking", "router", "nas-devices/index", (
        Item("networking.nasdevice", icon="router"),
        Item("networking.ipv4pool", icon="lan"),
        Item("networking.ipv6pool", icon="lan"),
        Item("networking.radiussession", icon="cable"),
        Item("networking.authlog", icon="policy"),
        Item("networking.dailyusage", icon="data_usage"),
    )),
    Module("billing", "Billing", "receipt_long", "billing/invoices/index", (
        Item("billing.invoice", icon="receipt_long"),
        Item("billing.payment", icon="payments"),
        Item("billing.proforma", icon="request_quote"),
        Item("billing.creditnote", icon="undo"),
        Item("billing.cancellationrequest", icon="block"),
        Item("billing.ledgerentry", icon="menu_book"),
    )),
    Module("inventory", "Inventory", "inventory_2", "inventory/index", (
        Item("inventory.product", icon="inventory_2"),
        Item("inventory.stocklevel", icon="stacks"),
        Item("inventory.serialunit", icon="qr_code"),
        Item("inventory.warehouse", icon="warehouse"),
        Item("inventory.stockmovement", icon="swap_horiz"),
    )),
    Module("support", "Support", "support_agent", "tickets/index", (
        Item("support.ticket", icon="confirmation_number"),
        Item("support.fieldvisit", icon="engineering"),
        Item("support.slapolicy", icon="timer"),
    )),
    Module("reports", "Reports", "monitoring", "reports/index", (
        Item("reports:index", "All reports", "monitoring", permission="reports.view_report"),
    )),
    Module("settings", "Settings", "settings", "settings/index", (
        Item("settings-index", "Settings hub", "tune"),
        Item("core.role", "Roles and permissions", "shield_person"),
        Item("core.user", "Staff users", "manage_accounts"),
        Item("auditlog.logentry", "Audit trail", "history"),
        Item("django_celery_beat.periodictask", "Scheduled jobs", "schedule"),
    )),
)


def _model_admin(label: str):
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return admin.site._registry.get(model)


def resolve_item(item: Item, request) -> dict | None:
    """The sidebar entry for `item` if it exists and this user may open it."""
    if "." in item.target and ":" not in item.target:
        model_admin = _model_admin(item.target)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
        opts = model_admin.model._meta
        return {
            "title": item.title or str(opts.verbose_name_plural).capitalize(),
            "icon": item.icon,
            "link": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        }
    try:
        link = reverse(item.target)
    except NoReverseMatch:
        return None
    if item.permission and not request.user.has_perm(item.permission):
        return None
    if item.target == "admin:index" and not request.user.get_all_permissions():
        return None
    if item.target == "settings-index":
        from modules.settings_hub.views import visible_sections

        if not visible_sections(request):
            return None
    return {"title": item.title, "icon": item.icon, "link": link}


def module_items(module: Module, request) -> list[dict]:
    return [entry for item in module.items if (entry := resolve_item(item, request))]


def module_is_installed(module: Module) -> bool:
    for item in module.items:
        if "." in item.target and ":" not in item.target:
            if _model_admin(item.target) is not None:
                return True
        else:
            try:
                reverse(item.target)
                return True
            except NoReverseMatch:
                continue
    return False


def sidebar(request) -> list[dict]:
    """Unfold SIDEBAR navigation: only the modules and items this user may open."""
    groups = []
    for module in MODULES:
        items = module_items(module, request)
        if items:
            groups.append({"title": module.title, "collapsible": True, "items": items})
    return groups
