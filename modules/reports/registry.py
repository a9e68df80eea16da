"""The report catalog: what each report shows, which selector computes it, who may run it.

A report lists the models it reads (`requires`); when one of them is not installed (a module
still to come, such as partner commissions), the report does not appear at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from django.apps import apps

from modules.reports import selectors as s


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, money, bytes, date, datetime, percent, seconds


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" or "line"
    label: str  # column for the x axis
    series: tuple[str, ...]  # columns plotted


@dataclass(frozen=True)
class ReportDef:
    key: str
    group: str
    title: str
    description: str
    rows: Callable  # (user, Params) -> QuerySet of dicts
    columns: tuple[Column, ...]
    permission: str  # the model permission the underlying list needs ("billing.view_payment")
    requires: tuple[str, ...] = ()
    chart: Chart | None = None
    default_days: tuple[int, int] = (-29, 0)  # default range relative to today
    date_note: str = ""
    extra: dict = field(default_factory=dict)

    def is_installed(self) -> bool:
        for label in self.requires:
            try:
                apps.get_model(label)
            except (LookupError, ValueError):
                return False
        return True

    def default_range(self, today: date) -> tuple[date, date]:
        first, last = self.default_days
        return today + timedelta(days=first), today + timedelta(days=last)


C = Column
FINANCIAL, SUBSCRIBER, NETWORK, TAX = "Financial", "Subscriber", "Network", "Tax"
_BILLING = ("billing.Payment", "billing.Invoice")
_NET = ("networking.RadiusSession", "networking.AuthLog", "networking.DailyUsage")

REPORTS: tuple[ReportDef, ...] = (
    ReportDef(
        "collections-by-day", FINANCIAL, "Collections by day and mode",
        "Money received per day and payment mode (cancelled receipts excluded).",
        s.collections_by_day,
        (C("day", "Day", "date"), C("method", "Mode"), C("payments", "Payments", "int"),
         C("amount", "Amount", "money")),
        "billing.view_payment", _BILLING, Chart("bar", "day", ("amount",)),
        date_note="Figures from the collection roll-up, refreshed every few minutes."),
    ReportDef(
        "collections-by-operator", FINANCIAL, "Collections by operator",
        "Money received per operator (who recorded the payment) and mode.",
        s.collections_by_operator,
        (C("operator__username", "Operator"), C("method", "Mode"),
         C("payments", "Payments", "int"), C("amount", "Amount", "money")),
        "billing.view_payment", _BILLING),
    ReportDef(
        "invoices", FINANCIAL, "Invoices",
        "Invoices issued in the range with their tax, total and payment state.",
        s.invoices,
        (C("number", "Invoice"), C("issue_date", "Issued", "date"), C("due_date", "Due", "date"),
         C("organization__name", "Organization"), C("subscriber__username", "Subscriber"),
         C("status", "Status"), C("taxable_total", "Taxable", "money"),
         C("tax_total", "Tax", "money"), C("total", "Total", "money"),
         C("amount_paid", "Paid", "money")),
        "billing.view_invoice", _BILLING),
    ReportDef(
        "credit-notes", FINANCIAL, "Credit notes",
        "Credit notes raised in the range.",
        s.credit_notes,
        (C("number", "Credit note"), C("day", "Date", "date"), C("invoice__number", "Invoice"),
         C("organization__name", "Organization"), C("subscriber__username", "Subscriber"),
         C("amount", "Amount", "money"), C("reason", "Reason")),
        "billing.view_creditnote", ("billing.CreditNote",)),
    ReportDef(
        "outstanding-aging", FINANCIAL, "Outstanding and aging",
        "Unpaid invoice amounts per organization, by days past due as of the end day.",
        s.outstanding_aging,
        (C("organization__name", "Organization"), C("not_due", "Not yet due", "money"),
         C("d1_30", "1-30 days", "money"), C("d31_60", "31-60 days", "money"),
         C("d61_90", "61-90 days", "money"), C("d90_plus", "Over 90 days", "money"),
         C("outstanding", "Outstanding", "money")),
        "billing.view_invoice", _BILLING, Chart("bar", "organization__name", ("outstanding",)),
        default_days=(0, 0)),
    ReportDef(
        "revenue-by-plan", FINANCIAL, "Revenue by plan",
        "Taxable value invoiced per plan.",
        s.revenue_by_plan_report,
        (C("plan__name", "Plan"), C("invoices", "Invoices", "int"),
         C("taxable_value", "Taxable value", "money")),
        "billing.view_invoice", _BILLING, Chart("bar", "plan__name", ("taxable_value",))),
    ReportDef(
        "wallet-statement", FINANCIAL, "Partner wallet statements",
        "Every movement of partner wallets with the balance after it.",
        s.wallet_statement,
        (C("created_at", "When", "datetime"), C("wallet__owner_organization__name", "Partner"),
         C("kind", "Entry"), C("amount", "Amount", "money"),
         C("balance_after", "Balance after", "money"), C("memo", "Memo")),
        "billing.view_ledgerentry", ("billing.LedgerEntry", "billing.Wallet")),
    ReportDef(
        "commission-statement", FINANCIAL, "Commission statements",
        "Commission credited to partners per month.",
        s.commission_statement,
        (C("month", "Month", "month"), C("wallet__owner_organization__name", "Partner"),
         C("entries", "Entries", "int"), C("amount", "Commission", "money")),
        "billing.view_ledgerentry", ("billing.LedgerEntry", "partners.CommissionTemplate")),
    *(ReportDef(
        f"subscribers-by-{group}", SUBSCRIBER, f"Subscribers by {group}",
        f"Active, expired, suspended, new and churned subscribers per {group}. New and churned "
        "count the range; the others are the current state.",
        partial(s.subscribers_summary, group=group),
        (C("group_name", group.capitalize()), C("active", "Active", "int"),
         C("expired", "Expired", "int"), C("suspended", "Suspended", "int"),
         C("new", "New", "int"), C("churned", "Churned", "int"), C("total", "Total", "int")),
        "subscribers.view_subscriber", ("subscribers.Subscriber",),
        Chart("bar", "group_name", ("active", "new", "churned")))
      for group in ("plan", "partner", "area")),
    ReportDef(
        "renewals-due", SUBSCRIBER, "Renewals due",
        "Running subscribers whose validity ends within the range.",
        s.renewals_due,
        (C("username", "Username"), C("name", "Name"), C("mobile", "Mobile"),
         C("organization__name", "Organization"), C("plan__name", "Plan"),
         C("plan__price", "Price", "money"), C("expires_at", "Expires", "datetime"),
         C("auto_renew", "Auto-renew")),
        "subscribers.view_subscriber", ("subscribers.Subscriber",), default_days=(0, 7)),
    ReportDef(
        "plan-changes", SUBSCRIBER, "Upgrades and downgrades",
        "Plan changes in the range, with the old and new plan and price.",
        s.plan_changes,
        (C("created_at", "When", "datetime"), C("subscriber__username", "Subscriber"),
         C("organization__name", "Organization"), C("old_plan__name", "From plan"),
         C("new_plan__name", "To plan"), C("old_price", "Old price", "money"),
         C("new_price", "New price", "money"), C("direction", "Direction")),
        "subscribers.view_subscriber", ("subscribers.Subscriber",)),
    ReportDef(
        "usage-by-subscriber", NETWORK, "Top users (usage per subscriber)",
        "Data per subscriber over the range, biggest first.",
        s.usage_by_subscriber,
        (C("subscriber__username", "Subscriber"), C("subscriber__plan__name", "Plan"),
         C("download", "Download", "bytes"), C("upload", "Upload", "bytes"),
         C("total", "Total", "bytes"), C("days", "Days online", "int")),
        "networking.view_dailyusage", _NET, default_days=(-6, 0)),
    ReportDef(
        "usage-by-day", NETWORK, "Usage per day",
        "Subscribers online and data moved per day.",
        s.usage_by_day,
        (C("day", "Day", "date"), C("subscribers", "Subscribers", "int"),
         C("download", "Download", "bytes"), C("upload", "Upload", "bytes")),
        "networking.view_dailyusage", _NET, Chart("line", "day", ("download", "upload"))),
    ReportDef(
        "sessions-by-nas", NETWORK, "Sessions per NAS and day",
        "Sessions started per NAS and day, with the time and data they carried.",
        s.sessions_by_nas_day,
        (C("day", "Day", "date"), C("nas__name", "NAS"), C("nas_ip", "NAS IP"),
         C("sessions", "Sessions", "int"), C("subscribers", "Subscribers", "int"),
         C("seconds", "Online time", "seconds"), C("download", "Download", "bytes"),
         C("upload", "Upload", "bytes")),
        "networking.view_radiussession", _NET, default_days=(-6, 0)),
    ReportDef(
        "auth-failures", NETWORK, "Authentication failures",
        "Rejected logins by reason and NAS.",
        s.auth_failures,
        (C("reason", "Reason"), C("nas_ip", "NAS IP"), C("failures", "Failures", "int"),
         C("users", "Usernames", "int")),
        "networking.view_authlog", _NET, Chart("bar", "reason", ("failures",)),
        default_days=(-6, 0)),
    ReportDef(
        "pool-history", NETWORK, "IPv4 pool utilization history",
        "Daily snapshot of each pool's size and leased addresses.",
        s.pool_history,
        (C("day", "Day", "date"), C("pool__name", "Pool"), C("size", "Addresses", "int"),
         C("leased", "Leased", "int")),
        "networking.view_ipv4pool", ("networking.Ipv4Pool",)),
    ReportDef(
        "tax-by-rate", TAX, "Tax by rate and component",
        "Per month and rate: taxable value, CGST, SGST and IGST on issued invoices.",
        s.tax_by_rate,
        (C("month", "Month", "month"), C("tax_rate", "Rate %", "percent"),
         C("invoices", "Invoices", "int"), C("taxable_value", "Taxable value", "money"),
         C("cgst", "CGST", "money"), C("sgst", "SGST", "money"), C("igst", "IGST", "money"),
         C("total_tax", "Total tax", "money")),
        "billing.view_invoice", _BILLING, default_days=(-89, 0),
        date_note="Figures from the invoice roll-up, refreshed every few minutes."),
    ReportDef(
        "tax-by-hsn", TAX, "Tax by HSN/SAC",
        "The HSN/SAC summary of a GST return: per code and rate.",
        s.tax_by_hsn,
        (C("hsn_sac", "HSN/SAC"), C("tax_rate", "Rate %", "percent"),
         C("invoices", "Invoices", "int"), C("taxable_value", "Taxable value", "money"),
         C("cgst", "CGST", "money"), C("sgst", "SGST", "money"), C("igst", "IGST", "money"),
         C("total_tax", "Total tax", "money")),
        "billing.view_invoice", _BILLING),
)

GROUPS = (FINANCIAL, SUBSCRIBER, NETWORK, TAX)
REPORT_PERMISSION = "reports.view_report"


def installed() -> dict[str, ReportDef]:
    return {r.key: r for r in REPORTS if r.is_installed()}


def for_user(user) -> dict[str, ReportDef]:
    """Reports this user may run: the reports permission plus the underlying list's."""
    if not user.has_perm(REPORT_PERMISSION):
        return {}
    return {key: r for key, r in installed().items() if user.has_perm(r.permission)}


def get(user, key: str) -> ReportDef | None:
    return for_user(user).get(key)
