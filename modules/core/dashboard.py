"""The dashboard (admin index): General, Network and Finance tabs.

Every figure comes from `modules.reports.selectors` (scoped to the user's subtree) and links
to the admin list it summarizes, with the list's own filters in the query string. A tab or a
figure appears only when the user may open the list behind it.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html

TABS = (("general", "General", "insights"), ("network", "Network", "router"),
        ("finance", "Finance", "payments"))
STATUS_ORDER = ("new", "active", "limited", "suspended", "expired", "terminated")
PRIORITIES = ("urgent", "high", "normal", "low")
OPEN_TICKETS = "open,in_progress,waiting"


def _admin(label: str):
    try:
        return admin.site._registry.get(apps.get_model(label))
    except (LookupError, ValueError):
        return None


def _can_view(request, label: str) -> bool:
    model_admin = _admin(label)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def _list_url(label: str, **filters) -> str:
    app_label, model = label.split(".")
    url = reverse(f"admin:{app_label}_{model.lower()}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _change_url(label: str, pk) -> str:
    app_label, model = label.split(".")
    return reverse(f"admin:{app_label}_{model.lower()}_change", args=[pk])


def _money(value) -> str:
    return number_format(Decimal(value or 0).quantize(Decimal("0.01")), 2, force_grouping=True)


def _count(value) -> str:
    return number_format(value or 0, force_grouping=True)


def _link(text, href) -> str:
    return format_html('<a class="text-primary-600 dark:text-primary-500" href="{}">{}</a>',
                       href, text)


def _slots(now, zone) -> list[datetime]:
    """The starts of the 24 hourly slots ending with the current hour."""
    top = timezone.localtime(now, zone).replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=23 - i) for i in range(24)]


def _hours(rows: list[dict], now, zone, *keys) -> tuple[list[str], dict[str, list[int]]]:
    """24 hourly slots ending with the current hour, zero-filled (rows are already grouped)."""
    slots = _slots(now, zone)
    by_hour = {timezone.localtime(r["hour"], zone): r for r in rows}
    series = {k: [by_hour.get(slot, {}).get(k, 0) for slot in slots] for k in keys}
    return [slot.strftime("%H:00") for slot in slots], series


def _chart(labels, datasets: dict[str, list]) -> str:
    return json.dumps({"labels": labels, "datasets": [
        {"label": name, "data": [float(v or 0) for v in values]}
        for name, values in datasets.items()]})


# Tabs -----------------------------------------------------------------------------------------
def general_tab(request, now) -> dict:
    from modules.reports import selectors as s

    user, cards, tables = request.user, [], []
    if _can_view(request, "subscribers.Subscriber"):
        label = "subscribers.Subscriber"
        by_status = s.subscribers_by_status(user)
        for status in STATUS_ORDER:
            cards.append({"title": f"{status.capitalize()} subscribers",
                          "value": _count(by_status.get(status, 0)),
                          "href": _list_url(label, status__exact=status)})
        counts = s.subscriber_counts(user, now)
        today = timezone.localtime(now, s.zone_of(user)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        cards += [
            {"title": "New today", "value": _count(counts["new_today"]),
             "href": _list_url(label, created_at__gte=today.isoformat())},
            {"title": "New this month", "value": _count(counts["new_month"]),
             "href": _list_url(label, created_at__gte=today.replace(day=1).isoformat())},
            {"title": "Expiring in 7 days", "value": _count(counts["expiring_7"]),
             "href": _list_url(label, list="expiring_7")},
            {"title": "Expired, not renewed", "value": _count(counts["expired"]),
             "href": _list_url(label, list="expired")},
        ]
        cards[-1]["footer"] = _as_of(s.rollup_time(user, "dashboard"), s.zone_of(user))
    if _can_view(request, "support.Ticket"):
        label = "support.Ticket"
        tickets = s.open_tickets(user, now)
        rows = [[_link(p.capitalize(), _list_url(label, priority__exact=p,
                                                 status__in=OPEN_TICKETS)),
                 _count(tickets["by_priority"].get(p, 0))] for p in PRIORITIES]
        rows.append([_link("At SLA risk", _list_url(label, status__in=OPEN_TICKETS,
                                                    at_risk_from__lte=now.isoformat(),
                                                    resolution_breached_at__isnull="True")),
                     _count(tickets["at_risk"])])
        rows.append([_link("SLA breached", _list_url(label, status__in=OPEN_TICKETS,
                                                     resolution_breached_at__isnull="False")),
                     _count(tickets["breached"])])
        tables.append({"title": "Open tickets", "table": {"headers": ["Priority", "Open"],
                                                          "rows": rows}})
    return {"cards": cards, "charts": [], "tables": tables, "progress": []}


def network_tab(request, now) -> dict:
    from modules.reports import selectors as s

    user, cards, charts, tables, progress = request.user, [], [], [], []
    zone = s.zone_of(user)
    if _can_view(request, "networking.RadiusSession"):
        cards.append({"title": "Online sessions now", "value": _count(s.online_sessions(user)),
                      "footer": _as_of(s.rollup_time(user, "dashboard"), zone),
                      "href": _list_url("networking.RadiusSession", online="yes")})
        slots = _slots(now, zone)
        labels = [slot.strftime("%H:00") for slot in slots]
        _, started = _hours(s.sessions_started_per_hour(user, now), now, zone, "n")
        charts.append({"title": "Online sessions per hour, last 24 hours", "kind": "line",
                       "data": _chart(labels, {"Online": s.online_per_hour(user, slots),
                                               "Started": started["n"]})})
    if _can_view(request, "networking.AuthLog"):
        label = "networking.AuthLog"
        labels, series = _hours(s.auth_per_hour(user, now), now, zone, "accepts", "rejects")
        charts.append({"title": "Logins accepted and rejected per hour", "kind": "bar",
                       "data": _chart(labels, {"Accepted": series["accepts"],
                                               "Rejected": series["rejects"]})})
        rows = [[_link(r["reason"].replace("_", " ") or "unspecified",
                       _list_url(label, outcome__exact="reject", reason=r["reason"])),
                 _count(r["n"])] for r in s.top_reject_reasons(user, now)]
        tables.append({"title": "Top reject reasons (24 h)",
                       "table": {"headers": ["Reason", "Rejects"], "rows": rows}})
    if _can_view(request, "networking.NasDevice"):
        sessions = _can_view(request, "networking.RadiusSession")
        rows = []
        for nas in s.nas_overview(user):
            online = _count(nas["online"])
            if sessions:
                online = _link(online, _list_url("networking.RadiusSession", online="yes",
                                                 nas__id__exact=nas["pk"]))
            seen = (timezone.localtime(nas["last_seen_at"], zone).strftime("%d %b %H:%M")
                    if nas["last_seen_at"] else "never")
            rows.append([_link(nas["name"], _change_url("networking.NasDevice", nas["pk"])),
                         nas["address"], seen, online])
        tables.append({"title": "NAS devices", "table": {
            "headers": ["NAS", "Address", "Last seen", "Online"], "rows": rows}})
    if _can_view(request, "networking.Ipv4Pool"):
        for pool in s.pool_utilization(user):
            percent = round(100 * pool["leased"] / pool["size"]) if pool["size"] else 0
            progress.append({"title": pool["name"], "value": percent,
                             "description": f"{pool['leased']:,} / {pool['size']:,}",
                             "href": _change_url("networking.Ipv4Pool", pool["pk"])})
    if _can_view(request, "networking.DailyUsage"):
        subscribers = _can_view(request, "subscribers.Subscriber")
        rows = [[_link(r["subscriber__username"], _change_url("subscribers.Subscriber",
                                                              r["subscriber"]))
                 if subscribers else r["subscriber__username"], filesizeformat(r["octets"])]
                for r in s.top_data_users(user, now)]
        tables.append({"title": "Top data users today", "table": {
            "headers": ["Subscriber", "Data"], "rows": rows}})
    return {"cards": cards, "charts": charts, "tables": tables, "progress": progress}


def finance_tab(request, now) -> dict:
    from modules.reports import selectors as s

    user, cards, charts, tables = request.user, [], [], []
    zone = s.zone_of(user)
    today = timezone.localtime(now, zone).date()
    month = today.replace(day=1)
    if _can_view(request, "billing.Payment"):
        label = "billing.Payment"
        for title, first in (("today", today), ("this month", month)):
            modes = s.collections_by_mode(user, first, today)
            since = datetime.combine(first, time.min, tzinfo=zone).isoformat()
            cards.append({"title": f"Collected {title}",
                          "value": _money(sum((m["amount"] for m in modes), Decimal(0))),
                          "href": _list_url(label, received_at__gte=since,
                                            status__exact="received")})
            tables.append({"title": f"Collections {title} by mode", "table": {
                "headers": ["Mode", "Payments", "Amount"],
                "rows": [[_link(m["method"], _list_url(label, method__exact=m["method"],
                                                       received_at__gte=since)),
                          _count(m["payments"]), _money(m["amount"])] for m in modes]}})
        cards[-1]["footer"] = _as_of(s.rollup_time(user, "finance"), zone)
    if _can_view(request, "billing.Invoice"):
        label = "billing.Invoice"
        aging = s.invoice_aging(user, today)
        buckets = (("not_due", "Not yet due", {"due_date__gte": today}),
                   ("d1_30", "Overdue 1-30 days", {"due_date__lt": today,
                                                   "due_date__gte": today - timedelta(days=30)}),
                   ("d31_60", "Overdue 31-60 days", {"due_date__lt": today - timedelta(days=30),
                                                     "due_date__gte": today - timedelta(days=60)}),
                   ("d61_90", "Overdue 61-90 days", {"due_date__lt": today - timedelta(days=60),
                                                     "due_date__gte": today - timedelta(days=90)}),
                   ("d90_plus", "Overdue over 90 days",
                    {"due_date__lt": today - timedelta(days=90)}))
        rows = [[_link(title, _list_url(label, status__in="issued,partial",
                                        **{k: v.isoformat() for k, v in f.items()})),
                 _count(aging[f"{key}_count"]), _money(aging[key])] for key, title, f in buckets]
        tables.append({"title": "Invoices due and overdue", "table": {
            "headers": ["Age", "Invoices", "Amount due"], "rows": rows}})
        cards.append({"title": "Outstanding", "value": _money(aging["outstanding"]),
                      "footer": _as_of(s.rollup_time(user, "dashboard"), zone),
                      "href": _list_url(label, status__in="issued,partial")})
        plans = s.revenue_by_plan(user, month, today)
        charts.append({"title": "Revenue by plan this month (taxable value)", "kind": "bar",
                       "data": _chart([p["plan__name"] or "Other" for p in plans],
                                      {"Revenue": [p["amount"] for p in plans]})})
    if _can_view(request, "billing.Wallet"):
        wallets = s.partner_wallets(user)
        wallet_list = ("partners.PartnerWallet" if _can_view(request, "partners.PartnerWallet")
                       else "billing.Wallet")
        cards.append({"title": "Partner wallet balances", "value": _money(wallets["total"]),
                      "footer": f"{wallets['low']} below their alert level",
                      "href": _list_url(wallet_list)})
        tables.append({"title": "Lowest partner wallets", "table": {
            "headers": ["Partner", "Balance", "Alert below"],
            "rows": [[_link(w["owner_organization__name"],
                            _change_url("billing.Wallet", w["pk"])),
                      _money(w["balance"]),
                      _money(w["low_balance_alert"]) if w["low_balance_alert"] is not None
                      else "—"] for w in wallets["lowest"]]}})
    return {"cards": cards, "charts": charts, "tables": tables, "progress": []}


def _as_of(when, zone) -> str:
    if when is None:
        return "Roll-up not run yet"
    return f"As of {timezone.localtime(when, zone):%H:%M}"


BUILDERS = {"general": general_tab, "network": network_tab, "finance": finance_tab}
TAB_MODELS = {
    "general": ("subscribers.Subscriber", "support.Ticket"),
    "network": ("networking.RadiusSession", "networking.AuthLog", "networking.NasDevice",
                "networking.Ipv4Pool", "networking.DailyUsage"),
    "finance": ("billing.Payment", "billing.Invoice", "billing.Wallet"),
}


def overview_cards(request, now: datetime | None = None) -> dict:
    """The dashboard of `request.user`: the tabs it may see and the figures of the open one."""
    visible = [key for key, _, _ in TABS
               if any(_can_view(request, label) for label in TAB_MODELS[key])]
    active = request.GET.get("tab")
    if active not in visible:
        active = visible[0] if visible else None
    base = reverse("admin:index")
    tabs = [{"title": title, "icon": icon, "link": f"{base}?tab={key}", "active": key == active}
            for key, title, icon in TABS if key in visible]
    content = BUILDERS[active](request, now or timezone.now()) if active else {}
    return {"tabs": tabs, "active": active, **content}
