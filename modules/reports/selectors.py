"""Every figure of the dashboard and every report row, computed in SQL and scoped to a user.

One function per figure or report, so a change in another module's models is fixed here only.
Each takes the acting user (and, for reports, `Params`) and narrows its rows to the user's
organization subtree through `modules.core.scope`; nothing loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncHour, TruncMonth
from django.utils import timezone

from modules.core import scope
from modules.core.models import Organization

ZERO = Value(0, output_field=DecimalField(max_digits=18, decimal_places=4))
OPEN_TICKET = ("open", "in_progress", "waiting")


@dataclass(frozen=True)
class Params:
    """A report's filters: an inclusive date range, an optional organization node, a zone."""

    start: date
    end: date
    organization: Organization | None = None
    zone: ZoneInfo | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.tz)

    @property
    def until(self) -> datetime:
        """Exclusive upper bound: midnight after the end day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.tz)

    @property
    def tz(self) -> ZoneInfo:
        return self.zone or timezone.get_default_timezone()


def zone_of(user) -> ZoneInfo:
    from modules.plans.services import tenant_zone

    return tenant_zone(user.organization.tenant_id if user.organization_id else None)


def organizations(user, params: Params | None = None) -> QuerySet:
    """Primary keys of the organizations a figure may count: the scope, or one node's subtree."""
    orgs = scope.allowed_organizations(user)
    node = params.organization if params else None
    if node is not None:
        orgs = orgs.filter(tenant_id=node.tenant_id, path__startswith=node.path)
    return orgs.values("pk")


def scoped(qs: QuerySet, user, params: Params | None = None, field: str = "organization"):
    return qs.filter(**{f"{field}__in": organizations(user, params)})


# Dashboard: General ---------------------------------------------------------------------------
def subscribers_by_status(user) -> dict[str, int]:
    """From the subscriber tally (as of the last roll-up): a count over the table per page
    view would read every subscriber row."""
    from modules.reports.models import SubscriberTally

    rows = scoped(SubscriberTally.objects.all(), user).values("status").annotate(
        n=Sum("subscribers"))
    return {row["status"]: row["n"] for row in rows.order_by() if row["n"]}


def subscriber_counts(user, now: datetime | None = None) -> dict[str, int]:
    """New today and this month, expiring within 7 days, expired and not renewed.

    From the subscriber tally, so as of the last roll-up (`now` is kept for callers; the day
    and the 7 days are those of the count)."""
    from modules.reports.models import SubscriberTally
    from modules.subscribers.models import Subscriber

    zero = Value(0)
    totals = scoped(SubscriberTally.objects.all(), user).aggregate(
        new_today=Coalesce(Sum("new_today"), zero),
        new_month=Coalesce(Sum("new_month"), zero),
        expiring_7=Coalesce(Sum("expiring_7"), zero),
        expired=Coalesce(Sum("subscribers", filter=Q(status=Subscriber.Status.EXPIRED)), zero),
    )
    return totals


def open_tickets(user, now: datetime | None = None) -> dict:
    """Open tickets by priority, and how many are at SLA risk or already breached."""
    from modules.support.models import Ticket

    now = now or timezone.now()
    qs = scoped(Ticket.objects.filter(status__in=OPEN_TICKET), user)
    by_priority = {r["priority"]: r["n"] for r in
                   qs.values("priority").annotate(n=Count("pk")).order_by()}
    risk = qs.aggregate(
        at_risk=Count("pk", filter=Q(at_risk_from__lte=now, resolution_breached_at=None,
                                     response_breached_at=None)),
        breached=Count("pk", filter=Q(resolution_breached_at__isnull=False)
                       | Q(response_breached_at__isnull=False)),
    )
    return {"by_priority": by_priority, **risk}


# Dashboard: Network ---------------------------------------------------------------------------
def online_sessions(user) -> int:
    """From the online tally (as of the last roll-up)."""
    from modules.reports.models import OnlineTally

    return scoped(OnlineTally.objects.all(), user).aggregate(
        n=Coalesce(Sum("online"), Value(0)))["n"]


def sessions_started_per_hour(user, now: datetime | None = None) -> list[dict]:
    """Sessions started per hour of the last 24, from the roll-up's hourly counts."""
    from modules.reports.models import SessionHour

    now = now or timezone.now()
    qs = scoped(SessionHour.objects.filter(hour__gt=now - timedelta(hours=25)), user)
    return list(qs.values("hour").annotate(n=Sum("started")).filter(n__gt=0).order_by("hour"))


def online_per_hour(user, slots: list[datetime]) -> list[int]:
    """Sessions online at some moment of each one-hour slot, from the roll-up's hourly counts
    (slots the roll-up did not count show 0)."""
    from modules.reports.models import SessionHour

    qs = scoped(SessionHour.objects.filter(hour__in=slots), user)
    counts = {row["hour"]: row["n"] for row in
              qs.values("hour").annotate(n=Sum("online")).order_by()}
    return [counts.get(slot, 0) for slot in slots]


def auth_per_hour(user, now: datetime | None = None) -> list[dict]:
    """Accepts and rejects per hour over the last 24 hours."""
    from modules.networking.models import AuthLog

    now = now or timezone.now()
    qs = scoped(AuthLog.objects.filter(created_at__gte=now - timedelta(hours=24)), user)
    return list(qs.annotate(hour=TruncHour("created_at", tzinfo=zone_of(user))).values("hour")
                .annotate(accepts=Count("pk", filter=Q(outcome="accept")),
                          rejects=Count("pk", filter=Q(outcome="reject")))
                .order_by("hour"))


def top_reject_reasons(user, now: datetime | None = None, limit: int = 5) -> list[dict]:
    from modules.networking.models import AuthLog

    now = now or timezone.now()
    qs = scoped(AuthLog.objects.filter(created_at__gte=now - timedelta(hours=24),
                                       outcome="reject"), user)
    return list(qs.values("reason").annotate(n=Count("pk")).order_by("-n", "reason")[:limit])


def nas_overview(user, limit: int = 10) -> list[dict]:
    """NAS devices in scope with last-seen and the scope's online sessions on each (from the
    online tally)."""
    from modules.networking.models import NasDevice
    from modules.reports.models import OnlineTally

    live = scoped(OnlineTally.objects.filter(nas=OuterRef("pk")), user)
    online = live.order_by().values("nas").annotate(n=Sum("online")).values("n")
    qs = scoped(NasDevice.objects.filter(is_active=True), user)
    return list(qs.annotate(online=Coalesce(Subquery(online, output_field=IntegerField()), 0))
                .values("pk", "name", "address", "last_seen_at", "online")
                .order_by("-online", "name")[:limit])


def pool_utilization(user, limit: int = 10) -> list[dict]:
    from modules.networking.models import Ipv4Pool

    qs = scoped(Ipv4Pool.objects.filter(is_active=True), user)
    return list(qs.annotate(size=Count("leases"),
                            leased=Count("leases", filter=Q(leases__subscriber__isnull=False)))
                .values("pk", "name", "size", "leased").order_by("name")[:limit])


def _with_subscriber_names(qs: QuerySet, plan: bool = False) -> QuerySet:
    """Name the rows of a per-subscriber aggregate after grouping: joining a million
    subscribers before the GROUP BY costs more than the aggregate itself."""
    from modules.subscribers.models import Subscriber

    one = Subscriber.objects.filter(pk=OuterRef("subscriber")).order_by()
    names = {"subscriber__username": Subquery(one.values("username")[:1])}
    if plan:
        names["subscriber__plan__name"] = Subquery(one.values("plan__name")[:1])
    return qs.annotate(**names)


def top_data_users(user, now: datetime | None = None, days: int = 1, limit: int = 10):
    """Subscribers who moved the most data today (the tenant's day), or over `days` days."""
    from modules.networking.models import DailyUsage

    now = now or timezone.now()
    first = timezone.localtime(now, zone_of(user)).date() - timedelta(days=days - 1)
    qs = scoped(DailyUsage.objects.filter(day__gte=first), user)
    top = (qs.values("subscriber").annotate(octets=Sum(F("input_octets") + F("output_octets")))
           .order_by("-octets", "subscriber")[:limit])
    return list(_with_subscriber_names(top))


# Dashboard: Finance ---------------------------------------------------------------------------
def collections_by_mode(user, first: date, last: date) -> list[dict]:
    from modules.reports.models import DailyCollection

    qs = scoped(DailyCollection.objects.filter(day__range=(first, last)), user)
    return list(qs.values("method").annotate(payments=Sum("payments"), amount=Sum("amount"))
                .order_by("-amount", "method"))


AGING_BUCKETS = (("not_due", None, 0), ("d1_30", 1, 30), ("d31_60", 31, 60),
                 ("d61_90", 61, 90), ("d90_plus", 91, None))


def _aging_aggregates(as_of: date, due=None, count=None) -> dict:
    """Amount due and invoices per aging bucket; `due`/`count` name the columns of a roll-up
    (default: invoice rows)."""
    if due is None:
        due = ExpressionWrapper(F("total") - F("amount_paid"), output_field=DecimalField(
            max_digits=14, decimal_places=2))
    out = {}
    for key, low, high in AGING_BUCKETS:
        q = Q()
        if key == "not_due":
            q = Q(due_date__gte=as_of) | Q(due_date=None)
        else:
            q &= Q(due_date__lte=as_of - timedelta(days=low))
            if high is not None:
                q &= Q(due_date__gte=as_of - timedelta(days=high))
        out[key] = Coalesce(Sum(due, filter=q), ZERO)
        out[f"{key}_count"] = (Count("pk", filter=q) if count is None
                               else Coalesce(Sum(count, filter=q), Value(0)))
    out["outstanding"] = Coalesce(Sum(due), ZERO)
    return out


def invoice_aging(user, as_of: date) -> dict:
    """Open invoices: amount due not yet due and by days overdue (1-30, 31-60, 61-90, 90+).

    From the receivables roll-up (open invoices by due day, as of its last run)."""
    from modules.reports.models import ReceivableDay

    qs = scoped(ReceivableDay.objects.all(), user)
    return qs.aggregate(**_aging_aggregates(as_of, due=F("amount_due"), count=F("invoices")))


def revenue_by_plan(user, first: date, last: date, limit: int = 8) -> list[dict]:
    from modules.reports.models import DailyRevenue

    qs = scoped(DailyRevenue.objects.filter(day__range=(first, last)), user)
    return list(qs.values("plan", "plan__name").annotate(amount=Sum("taxable_value"))
                .order_by("-amount", "plan__name")[:limit])


def partner_wallets(user, limit: int = 8) -> dict:
    """Partner wallets in scope: lowest balances first, and which are under their alert level."""
    from modules.billing.models import Wallet

    qs = scoped(Wallet.objects.filter(owner_organization__isnull=False,
                                      owner_organization__depth__gt=1), user)
    low = Q(low_balance_alert__isnull=False, balance__lt=F("low_balance_alert"))
    summary = qs.aggregate(total=Coalesce(Sum("balance"), ZERO), wallets=Count("pk"),
                           low=Count("pk", filter=low))
    lowest = list(qs.values("pk", "owner_organization__name", "balance", "low_balance_alert")
                  .order_by("balance", "pk")[:limit])
    return {**summary, "lowest": lowest}


def rollup_time(user, name: str) -> datetime | None:
    from modules.reports.models import RollupRun

    tenant_ids = scope.scope_tenant_ids(user)
    return (RollupRun.objects.filter(tenant_id__in=tenant_ids, name=name)
            .order_by("finished_at").values_list("finished_at", flat=True).first())


# Reports: financial ---------------------------------------------------------------------------
def collections_by_day(user, p: Params) -> QuerySet:
    from modules.reports.models import DailyCollection

    qs = scoped(DailyCollection.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("day", "method").annotate(payments=Sum("payments"), amount=Sum("amount"))
            .order_by("-day", "method"))


def collections_by_operator(user, p: Params) -> QuerySet:
    from modules.reports.models import DailyCollection

    qs = scoped(DailyCollection.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("operator__username", "method")
            .annotate(payments=Sum("payments"), amount=Sum("amount"))
            .order_by("operator__username", "method"))


def invoices(user, p: Params) -> QuerySet:
    from modules.billing.models import Invoice

    qs = scoped(Invoice.objects.filter(issue_date__range=(p.start, p.end)), user, p)
    return qs.values("number", "issue_date", "due_date", "organization__name",
                     "subscriber__username", "status", "taxable_total", "tax_total", "total",
                     "amount_paid").order_by("-issue_date", "-id")


def credit_notes(user, p: Params) -> QuerySet:
    from modules.billing.models import CreditNote

    qs = scoped(CreditNote.objects.filter(created_at__gte=p.since, created_at__lt=p.until),
                user, p)
    return (qs.annotate(day=TruncDate("created_at", tzinfo=p.tz))
            .values("number", "day", "invoice__number", "organization__name",
                    "subscriber__username", "amount", "reason").order_by("-day", "-id"))


def outstanding_aging(user, p: Params) -> QuerySet:
    """Open invoices per organization, aged as of the end day of the range."""
    from modules.billing.models import Invoice

    qs = scoped(Invoice.objects.filter(status__in=["issued", "partial"],
                                       issue_date__lte=p.end), user, p)
    return (qs.values("organization__name").annotate(**_aging_aggregates(p.end))
            .order_by("-outstanding", "organization__name"))


def revenue_by_plan_report(user, p: Params) -> QuerySet:
    from modules.reports.models import DailyRevenue

    qs = scoped(DailyRevenue.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("plan__name").annotate(invoices=Sum("invoices"),
                                             taxable_value=Sum("taxable_value"))
            .order_by("-taxable_value", "plan__name"))


def wallet_statement(user, p: Params) -> QuerySet:
    """Entries of partner wallets (wallets owned by an organization node below the ISP)."""
    from modules.billing.models import LedgerEntry

    qs = scoped(LedgerEntry.objects.filter(
        wallet__owner_organization__depth__gt=1, created_at__gte=p.since,
        created_at__lt=p.until), user, p)
    return qs.values("created_at", "wallet__owner_organization__name", "kind", "amount",
                     "balance_after", "memo").order_by("wallet__owner_organization__name",
                                                       "created_at", "id")


def commission_statement(user, p: Params) -> QuerySet:
    from modules.billing.models import LedgerEntry

    qs = scoped(LedgerEntry.objects.filter(kind="commission", created_at__gte=p.since,
                                           created_at__lt=p.until), user, p)
    return (qs.annotate(month=TruncMonth("created_at", tzinfo=p.tz))
            .values("month", "wallet__owner_organization__name")
            .annotate(entries=Count("pk"), amount=Sum("amount"))
            .order_by("-month", "wallet__owner_organization__name"))


# Reports: subscribers -------------------------------------------------------------------------
_GROUPS = {"plan": "plan__name", "partner": "organization__name", "area": "area"}


def subscribers_summary(user, p: Params, group: str) -> QuerySet:
    """Current active/expired/suspended, new in the range and churned in the range, per group.

    Churned: expired or terminated during the range and still so (not renewed since).
    """
    from modules.subscribers.models import StatusChange, Subscriber

    S = Subscriber.Status
    left = StatusChange.objects.filter(
        subscriber=OuterRef("pk"), to_status__in=[S.EXPIRED, S.TERMINATED],
        created_at__gte=p.since, created_at__lt=p.until)
    qs = scoped(Subscriber.objects.all(), user, p)
    return (qs.values(group_name=F(_GROUPS[group])).annotate(
        active=Count("pk", filter=Q(status__in=[S.ACTIVE, S.LIMITED])),
        expired=Count("pk", filter=Q(status=S.EXPIRED)),
        suspended=Count("pk", filter=Q(status=S.SUSPENDED)),
        new=Count("pk", filter=Q(created_at__gte=p.since, created_at__lt=p.until)),
        churned=Count("pk", filter=Q(status__in=[S.EXPIRED, S.TERMINATED]) & Q(Exists(left))),
        total=Count("pk"),
    ).order_by("-total", "group_name"))


def renewals_due(user, p: Params) -> QuerySet:
    from modules.subscribers.models import Subscriber

    qs = scoped(Subscriber.objects.filter(
        status__in=["active", "limited"], expires_at__gte=p.since, expires_at__lt=p.until),
        user, p)
    return qs.values("username", "name", "mobile", "organization__name", "plan__name",
                     "plan__price", "expires_at", "auto_renew").order_by("expires_at", "id")


def plan_changes(user, p: Params) -> QuerySet:
    from modules.reports.models import PlanChange

    qs = scoped(PlanChange.objects.filter(created_at__gte=p.since, created_at__lt=p.until),
                user, p)
    return qs.values("created_at", "subscriber__username", "organization__name",
                     "old_plan__name", "new_plan__name", "old_price", "new_price",
                     "direction").order_by("-created_at", "-id")


def plan_change_summary(user, p: Params) -> QuerySet:
    from modules.reports.models import PlanChange

    qs = scoped(PlanChange.objects.filter(created_at__gte=p.since, created_at__lt=p.until),
                user, p)
    return qs.values("direction").annotate(changes=Count("pk")).order_by("direction")


# Reports: network -----------------------------------------------------------------------------
def usage_by_subscriber(user, p: Params) -> QuerySet:
    """Data per subscriber over the range, biggest first (the top users); ties by subscriber."""
    from modules.networking.models import DailyUsage

    qs = scoped(DailyUsage.objects.filter(day__range=(p.start, p.end)), user, p)
    return _with_subscriber_names(
        qs.values("subscriber")
        .annotate(download=Sum("output_octets"), upload=Sum("input_octets"),
                  total=Sum(F("input_octets") + F("output_octets")), days=Count("*"))
        .order_by("-total", "subscriber"), plan=True)


def usage_by_day(user, p: Params) -> QuerySet:
    """Per day; a subscriber has one usage row a day, so its rows are the day's subscribers."""
    from modules.networking.models import DailyUsage

    qs = scoped(DailyUsage.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("day").annotate(subscribers=Count("*"),
                                      download=Sum("output_octets"), upload=Sum("input_octets"))
            .order_by("-day"))


def sessions_by_nas_day(user, p: Params) -> QuerySet:
    """From the daily session roll-up (a subscriber's sessions belong to one organization, so
    its distinct subscribers add up across organizations)."""
    from modules.reports.models import SessionDay

    qs = scoped(SessionDay.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("day", "nas__name", "nas_ip")
            .annotate(sessions=Sum("sessions"), subscribers=Sum("subscribers"),
                      seconds=Sum("seconds"), download=Sum("download"), upload=Sum("upload"))
            .order_by("-day", "nas__name", "nas_ip"))


def auth_failures(user, p: Params) -> QuerySet:
    from modules.networking.models import AuthLog

    qs = scoped(AuthLog.objects.filter(outcome="reject", created_at__gte=p.since,
                                       created_at__lt=p.until), user, p)
    return (qs.values("reason", "nas_ip").annotate(failures=Count("pk"),
                                                   users=Count("username", distinct=True))
            .order_by("-failures", "reason", "nas_ip"))


def pool_history(user, p: Params) -> QuerySet:
    from modules.reports.models import PoolUsageDay

    qs = scoped(PoolUsageDay.objects.filter(day__range=(p.start, p.end)), user, p)
    return qs.values("day", "pool__name", "size", "leased").order_by("-day", "pool__name")


# Reports: tax ---------------------------------------------------------------------------------
def _tax_sums() -> dict:
    # total_tax first: later names shadow the columns it adds up.
    return {"total_tax": Sum(F("cgst") + F("sgst") + F("igst") + F("other_tax")),
            "invoices": Sum("invoices"), "taxable_value": Sum("taxable_value"),
            "cgst": Sum("cgst"), "sgst": Sum("sgst"), "igst": Sum("igst")}


def tax_by_rate(user, p: Params) -> QuerySet:
    """Per month and rate: taxable value and CGST / SGST / IGST collected."""
    from modules.reports.models import DailyRevenue

    qs = scoped(DailyRevenue.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.annotate(month=TruncMonth("day")).values("month", "tax_rate")
            .annotate(**_tax_sums()).order_by("-month", "tax_rate"))


def tax_by_hsn(user, p: Params) -> QuerySet:
    """The HSN/SAC summary of a GST return: per code and rate."""
    from modules.reports.models import DailyRevenue

    qs = scoped(DailyRevenue.objects.filter(day__range=(p.start, p.end)), user, p)
    return (qs.values("hsn_sac", "tax_rate").annotate(**_tax_sums())
            .order_by("hsn_sac", "tax_rate"))
