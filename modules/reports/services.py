"""Report writes: queueing and building export files, the daily roll-ups, plan-change records.

Exports run under the requester's own scope, read again when the job runs, so a file never
holds rows its requester could not see on screen. Roll-ups replace whole days inside one
transaction under a per-tenant advisory lock: a second or concurrent run changes nothing.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import tempfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from config.db_routers import replica_reads
from modules.core import scope
from modules.core.models import Organization, Tenant
from modules.plans.cells import neutralize
from modules.reports import registry
from modules.reports.models import PlanChange, Report, RollupRun
from modules.reports.selectors import Params, zone_of

logger = logging.getLogger("modules.reports")
CHUNK_ROWS = 2000
MAX_RANGE_DAYS = 731


# Parameters -----------------------------------------------------------------------------------
def params_from(user, data: dict) -> Params:
    """Validated report filters from a form's cleaned data or a stored export's JSON."""
    start, end = data.get("start"), data.get("end")
    start = date.fromisoformat(start) if isinstance(start, str) else start
    end = date.fromisoformat(end) if isinstance(end, str) else end
    if not start or not end or start > end:
        raise ValidationError("Choose a start day on or before the end day.")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValidationError("A report covers at most two years.")
    org = data.get("organization")
    if org is not None and not isinstance(org, Organization):
        org = scope.allowed_organizations(user).filter(pk=org).first()
        if org is None:
            raise ValidationError("Unknown organization.")
    if org is not None and not scope.in_scope(user, org):
        raise ValidationError("Unknown organization.")
    return Params(start=start, end=end, organization=org, zone=zone_of(user))


def params_json(p: Params) -> dict:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(),
            "organization": p.organization.pk if p.organization else None}


# Exports --------------------------------------------------------------------------------------
def request_export(user, report_key: str, params: Params, file_format: str) -> Report:
    """Queue a background export of one report; the task starts once this transaction commits."""
    definition = registry.get(user, report_key)
    if definition is None or not user.organization_id:
        raise PermissionDenied("You may not run this report.")
    if file_format not in Report.Format.values:
        raise ValidationError("Unknown file format.")
    report = Report.objects.create(
        organization_id=user.organization_id, requested_by=user, report_key=report_key,
        title=definition.title, params=params_json(params), file_format=file_format)
    from modules.reports.tasks import build_export_task

    transaction.on_commit(lambda: build_export_task.delay(report.pk))
    return report


def cell(value, kind: str):
    """A value as written to a file: numbers stay numbers, text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(
            value) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m") if kind == "month" else value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, int | float):
        return value
    return neutralize(value)


def _write_rows(report: Report, definition, rows, path: str) -> None:
    headers = [c.label for c in definition.columns]
    keys = [(c.key, c.kind) for c in definition.columns]
    done = 0

    def progress(n):
        Report.objects.filter(pk=report.pk).update(rows_done=n)

    if report.file_format == Report.Format.XLSX:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", definition.title)[:31])
        sheet.append(headers)
        for row in rows.iterator(chunk_size=CHUNK_ROWS):
            sheet.append([cell(row[k], kind) for k, kind in keys])
            done += 1
            if done % CHUNK_ROWS == 0:
                progress(done)
        book.save(path)
    else:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(headers)
            for row in rows.iterator(chunk_size=CHUNK_ROWS):
                writer.writerow([cell(row[k], kind) for k, kind in keys])
                done += 1
                if done % CHUNK_ROWS == 0:
                    progress(done)
    report.rows_done = done


def build_export(report_id: int) -> Report | None:
    """Write one queued export to media storage; a second call for the same job does nothing."""
    with transaction.atomic():
        report = (Report.objects.select_for_update(skip_locked=True)
                  .filter(pk=report_id, status=Report.Status.QUEUED).first())
        if report is None:
            return None
        report.status = Report.Status.RUNNING
        report.save(update_fields=["status"])
    user = report.requested_by
    try:
        definition = registry.get(user, report.report_key)
        if definition is None:
            raise PermissionDenied("The requester may no longer run this report.")
        rows = definition.rows(user, params_from(user, report.params))
        with replica_reads():
            total = rows.count()
        Report.objects.filter(pk=report.pk).update(rows_total=total)
        handle, path = tempfile.mkstemp(suffix=f".{report.file_format}")
        os.close(handle)
        try:
            with replica_reads():  # rows from the replica, progress written to the primary
                _write_rows(report, definition, rows, path)
            stamp = timezone.localtime(report.created_at, zone_of(user)).strftime("%Y%m%d-%H%M")
            with open(path, "rb") as data:
                report.file.save(f"{report.report_key}-{stamp}-{report.pk}.{report.file_format}",
                                 File(data), save=False)
        finally:
            os.unlink(path)
        report.status = Report.Status.DONE
    except (PermissionDenied, ValidationError) as refused:
        report.status, report.error = Report.Status.FAILED, str(refused)[:255]
    except Exception as failure:  # the job records any failure for its requester
        logger.exception("Report export %s failed", report.pk)
        report.status, report.error = Report.Status.FAILED, f"Export failed: {failure}"[:255]
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "file", "rows_done", "finished_at"])
    return report


def visible_export(user, report_id: int) -> Report | None:
    """An export its requester may open: own jobs only, and still within the user's scope."""
    report = Report.objects.filter(pk=report_id, requested_by=user).select_related(
        "organization").first()
    if report is None or not scope.in_scope(user, report.organization):
        return None
    return report


# Roll-ups -------------------------------------------------------------------------------------
def _bounds(first: date, last: date, zone) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time.min, tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone))


_COLLECTIONS_SQL = """
INSERT INTO reports_dailycollection
    (tenant_id, organization_id, day, method, operator_id, payments, amount)
SELECT p.tenant_id, p.organization_id, (p.received_at AT TIME ZONE %(zone)s)::date, p.method,
       p.created_by_id, count(*), sum(p.amount)
FROM billing_payment p
WHERE p.tenant_id = %(tenant)s AND p.status = 'received'
  AND p.received_at >= %(since)s AND p.received_at < %(until)s
GROUP BY 1, 2, 3, 4, 5
"""

_REVENUE_SQL = """
INSERT INTO reports_dailyrevenue
    (tenant_id, organization_id, day, plan_id, hsn_sac, tax_rate, is_interstate, invoices,
     taxable_value, cgst, sgst, igst, other_tax)
SELECT i.tenant_id, i.organization_id, i.issue_date, l.plan_id, l.hsn_sac, l.tax_rate,
       i.is_interstate, count(DISTINCT i.id), sum(l.taxable_value),
       coalesce(sum(t.cgst), 0), coalesce(sum(t.sgst), 0), coalesce(sum(t.igst), 0),
       coalesce(sum(t.other), 0)
FROM billing_invoiceline l
JOIN billing_invoice i ON i.id = l.invoice_id
LEFT JOIN LATERAL (
    SELECT sum(x.amount) FILTER (WHERE upper(x.name) = 'CGST') AS cgst,
           sum(x.amount) FILTER (WHERE upper(x.name) = 'SGST') AS sgst,
           sum(x.amount) FILTER (WHERE upper(x.name) = 'IGST') AS igst,
           sum(x.amount) FILTER (WHERE upper(x.name) NOT IN ('CGST', 'SGST', 'IGST')) AS other
    FROM billing_linetax x WHERE x.line_id = l.id
) t ON true
WHERE i.tenant_id = %(tenant)s AND i.status IN ('issued', 'partial', 'paid')
  AND i.issue_date BETWEEN %(first)s AND %(last)s
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_POOLS_SQL = """
INSERT INTO reports_poolusageday (organization_id, pool_id, day, size, leased)
SELECT p.organization_id, p.id, %(day)s, count(l.id), count(l.subscriber_id)
FROM networking_ipv4pool p
JOIN core_organization o ON o.id = p.organization_id
LEFT JOIN networking_ipv4lease l ON l.pool_id = p.id
WHERE o.tenant_id = %(tenant)s AND p.is_active
GROUP BY p.id
ON CONFLICT (pool_id, day) DO UPDATE SET size = EXCLUDED.size, leased = EXCLUDED.leased
"""


_TALLY_SQL = """
INSERT INTO reports_subscribertally
    (tenant_id, organization_id, status, subscribers, new_today, new_month, expiring_7,
     counted_at)
SELECT s.tenant_id, s.organization_id, s.status, count(*),
       count(*) FILTER (WHERE s.created_at >= %(today)s),
       count(*) FILTER (WHERE s.created_at >= %(month)s),
       count(*) FILTER (WHERE s.status IN ('active', 'limited') AND s.expires_at >= %(now)s
                        AND s.expires_at < %(week)s),
       %(now)s
FROM subscribers_subscriber s
WHERE s.tenant_id = %(tenant)s
GROUP BY 1, 2, 3
"""


_SESSION_DAYS_SQL = """
INSERT INTO reports_sessionday
    (tenant_id, organization_id, day, nas_id, nas_ip, sessions, subscribers, seconds, download,
     upload)
SELECT %(tenant)s, s.organization_id, (s.started_at AT TIME ZONE %(zone)s)::date, s.nas_id,
       s.nas_ip, count(*), count(DISTINCT s.subscriber_id), coalesce(sum(s.session_time), 0),
       coalesce(sum(s.output_octets), 0), coalesce(sum(s.input_octets), 0)
FROM networking_radiussession s
WHERE s.started_at >= %(since)s AND s.started_at < %(until)s
  AND s.organization_id IN (SELECT id FROM core_organization WHERE tenant_id = %(tenant)s)
GROUP BY 2, 3, 4, 5
"""

_RECEIVABLE_SQL = """
INSERT INTO reports_receivableday
    (tenant_id, organization_id, due_date, invoices, amount_due, counted_at)
SELECT i.tenant_id, i.organization_id, i.due_date, count(*), sum(i.total - i.amount_paid),
       %(now)s
FROM billing_invoice i
WHERE i.tenant_id = %(tenant)s AND i.status IN ('issued', 'partial')
GROUP BY 1, 2, 3
"""

_ONLINE_SQL = """
INSERT INTO reports_onlinetally (tenant_id, organization_id, nas_id, online, counted_at)
SELECT %(tenant)s, s.organization_id, s.nas_id, count(*), %(now)s
FROM networking_radiussession s
WHERE s.stopped_at IS NULL AND s.started_at <= %(now)s
  AND s.organization_id IN (SELECT id FROM core_organization WHERE tenant_id = %(tenant)s)
GROUP BY 2, 3
"""

# Slot k is the hour starting at first + k hours; a session counts as online in every slot
# from the one it started in (or the first) to the one it stopped in (or the last).
_SESSION_HOURS_SQL = """
INSERT INTO reports_sessionhour (tenant_id, organization_id, hour, started, online)
SELECT %(tenant)s, s.organization_id, %(first)s + make_interval(hours => k),
       count(*) FILTER (WHERE s.started_at >= %(first)s
                        AND floor(extract(epoch FROM s.started_at - %(first)s) / 3600) = k),
       count(*)
FROM networking_radiussession s,
     generate_series(
         greatest(0, floor(extract(epoch FROM s.started_at - %(first)s) / 3600))::int,
         least(23, floor(extract(epoch FROM coalesce(s.stopped_at, %(end)s) - %(first)s)
                         / 3600))::int) k
WHERE s.started_at < %(end)s AND (s.stopped_at IS NULL OR s.stopped_at >= %(first)s)
  AND s.organization_id IN (SELECT id FROM core_organization WHERE tenant_id = %(tenant)s)
GROUP BY 2, 3
"""


def hour_slots(now: datetime, zone) -> list[datetime]:
    """The starts of the 24 hourly slots (tenant's clock) ending with the current hour."""
    top = timezone.localtime(now, zone).replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=23 - i) for i in range(24)]


def refresh_tallies(tenant: Tenant, now: datetime, zone, cursor) -> None:
    """Counts the dashboard shows "as of" the run: subscribers by status, open invoices by due
    day, sessions online per NAS and per hour of the last 24."""
    from modules.reports.models import OnlineTally, ReceivableDay, SessionHour, SubscriberTally

    midnight = timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    SubscriberTally.objects.filter(tenant=tenant).delete()
    cursor.execute(_TALLY_SQL, {"tenant": tenant.pk, "now": now, "today": midnight,
                                "month": midnight.replace(day=1),
                                "week": now + timedelta(days=7)})
    ReceivableDay.objects.filter(tenant=tenant).delete()
    cursor.execute(_RECEIVABLE_SQL, {"tenant": tenant.pk, "now": now})
    OnlineTally.objects.filter(tenant=tenant).delete()
    cursor.execute(_ONLINE_SQL, {"tenant": tenant.pk, "now": now})
    slots = hour_slots(now, zone)
    SessionHour.objects.filter(tenant=tenant).delete()
    cursor.execute(_SESSION_HOURS_SQL, {"tenant": tenant.pk, "first": slots[0],
                                        "end": slots[-1] + timedelta(hours=1)})
    RollupRun.objects.update_or_create(tenant=tenant, name="dashboard",
                                       defaults={"finished_at": now})


def refresh_rollups(tenant: Tenant, first: date, last: date,
                    now: datetime | None = None) -> None:
    """Recompute the collection and revenue roll-ups of `tenant` for days first..last, and
    its dashboard tallies as of `now`."""
    from modules.plans.services import tenant_zone
    from modules.reports.models import DailyCollection, DailyRevenue, SessionDay

    zone = tenant_zone(tenant.pk)
    now = now or timezone.now()
    since, until = _bounds(first, last, zone)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('reports.rollup'), %s)", [tenant.pk])
        DailyCollection.objects.filter(tenant=tenant, day__range=(first, last)).delete()
        cursor.execute(_COLLECTIONS_SQL, {"zone": str(zone), "tenant": tenant.pk,
                                          "since": since, "until": until})
        DailyRevenue.objects.filter(tenant=tenant, day__range=(first, last)).delete()
        cursor.execute(_REVENUE_SQL, {"tenant": tenant.pk, "first": first, "last": last})
        SessionDay.objects.filter(tenant=tenant, day__range=(first, last)).delete()
        cursor.execute(_SESSION_DAYS_SQL, {"zone": str(zone), "tenant": tenant.pk,
                                           "since": since, "until": until})
        today = timezone.localtime(now, zone).date()
        cursor.execute(_POOLS_SQL, {"tenant": tenant.pk, "day": today})
        RollupRun.objects.update_or_create(tenant=tenant, name="finance",
                                           defaults={"finished_at": now})
        refresh_tallies(tenant, now, zone, cursor)


def refresh_recent(days: int = 2) -> int:
    """The periodic job: the last `days` days of every tenant (today included)."""
    from modules.plans.services import tenant_zone

    tenants = list(Tenant.objects.all())
    for tenant in tenants:
        today = timezone.localtime(timezone.now(), tenant_zone(tenant.pk)).date()
        refresh_rollups(tenant, today - timedelta(days=days - 1), today)
    return len(tenants)


# Plan changes ---------------------------------------------------------------------------------
def record_plan_change(subscriber, old_plan_id: int | None, new_plan_id: int | None,
                       when: datetime | None = None) -> PlanChange | None:
    """Copy a plan change with both prices, so upgrades and downgrades can be counted later."""
    from modules.plans.models import Plan

    prices = dict(Plan.objects.filter(pk__in=[old_plan_id, new_plan_id])
                  .values_list("pk", "price"))
    old_price = prices.get(old_plan_id, Decimal("0"))
    new_price = prices.get(new_plan_id, Decimal("0"))
    if old_plan_id is None or old_plan_id == new_plan_id:
        return None
    direction = (PlanChange.Direction.UPGRADE if new_price > old_price else
                 PlanChange.Direction.DOWNGRADE if new_price < old_price else
                 PlanChange.Direction.SIDEWAYS)
    return PlanChange.objects.create(
        organization_id=subscriber.organization_id, subscriber=subscriber,
        old_plan_id=old_plan_id, new_plan_id=new_plan_id, old_price=old_price,
        new_price=new_price, direction=direction, created_at=when or timezone.now())
