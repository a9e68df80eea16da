"""Benchmark: the dashboard's three tabs and every report's first page, at two data sizes.

Generates a fresh tenant per size (SQL `generate_series` copies of one row made through the
ORM), runs the roll-up job over the whole period, then asks each page through Django's test
client (middleware, scope, templates: the server time a browser would wait for, without
the network) as the ISP admin and as a partner, best of three. The query count of every page
is recorded at both sizes: it must not grow with the data. Writes the "Dashboard and
reports" section of BENCHMARKS.md (other sections are kept) and prints it.

    DATABASE_URL=postgres://.../isp_reports_bench .venv/bin/python bench/reports_dashboard.py \
        [small] [large]

Sizes default to 1,000 and 10,000 subscribers: sized for about two minutes on an idle 2-CPU
machine (about seven on this shared one at a load average near 15).
"""

import os
import platform
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # jobs queued by the set-up go nowhere

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from modules.billing import payments  # noqa: E402
from modules.billing.models import Invoice, InvoiceLine, LineTax, Payment  # noqa: E402
from modules.core.models import Role, User  # noqa: E402
from modules.core.services import add_organization, create_portal_user, create_tenant  # noqa: E402
from modules.networking.models import AuthLog, DailyUsage, NasDevice, RadiusSession  # noqa: E402
from modules.plans.models import Plan  # noqa: E402
from modules.reports import registry  # noqa: E402
from modules.reports.services import refresh_rollups  # noqa: E402
from modules.subscribers.models import Subscriber  # noqa: E402

DAYS = 400  # history spread over this many days
TABS = ("general", "network", "finance")


def clone(model, template, overrides: dict[str, str], source: str, params=()) -> int:
    """Insert one row per row of `source` (aliases available to `overrides`), copying `template`
    (alias t) for every column not overridden."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join(overrides[c].replace("%", "%%") if c in overrides else f't."{c}"'
                       for c in columns)
    table = model._meta.db_table
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (f"INSERT INTO {table} ({names}) "  # noqa: S608
           f"SELECT {values} FROM {table} t, {source} AND t.id = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, template.pk])
        return cursor.rowcount


def free_address() -> str:
    """A NAS address no earlier run took (addresses are unique in the deployment)."""
    k = NasDevice.objects.count()
    while NasDevice.objects.filter(address=f"10.200.{k // 250 % 250}.{k % 250 + 1}").exists():
        k += 1
    return f"10.200.{k // 250 % 250}.{k % 250 + 1}"


def build(n: int, tag: str) -> dict:
    """A tenant with `n` subscribers under 4 distributors and 20 LCOs, and their history."""
    now = timezone.now()
    tenant = create_tenant(name=f"Bench {tag}", slug=f"bench-rep-{tag}",
                           domains=(f"{tag}.bench.test",))
    root = tenant.root
    dists = [add_organization(root, name=f"Dist {i}", code=f"d{i}", kind="distributor")
             for i in range(4)]
    lcos = [add_organization(dists[i % 4], name=f"LCO {i}", code=f"l{i}") for i in range(20)]
    role = Role.objects.create(tenant=tenant, name="Everything")
    role.permissions.set(Permission.objects.all())
    admin = create_portal_user(username=f"admin-{tag}", password="x" * 16, organization=root,
                               kind=User.Kind.ISP_ADMIN, roles=[role])
    partner = create_portal_user(username=f"lco-{tag}", password="x" * 16,
                                 organization=lcos[0], kind=User.Kind.PARTNER, roles=[role])
    plans = [Plan.objects.create(organization=root, code=f"{tag}-p{p}", name=f"Plan {p}",
                                 price=300 + 100 * p, download_kbps=50_000, upload_kbps=20_000,
                                 validity_value=30) for p in range(5)]
    nas = [NasDevice.objects.create(organization=lcos[i], name=f"BRAS {i}",
                                    address=free_address(), secret="s" * 16, vendor="mikrotik")
           for i in range(4)]
    sub = Subscriber(tenant=tenant, organization=lcos[0], username=f"t-{tag}", name="Template",
                     mobile="+919800000000", plan=plans[0], status="active",
                     expires_at=now + timedelta(days=10))
    sub.set_password("Secret-123")
    sub.save()
    orgs = "ARRAY[" + ",".join(str(o.pk) for o in [*lcos, *dists]) + "]::bigint[]"
    plan_ids = "ARRAY[" + ",".join(str(p.pk) for p in plans) + "]::bigint[]"
    statuses = "ARRAY['active','active','active','active','expired','suspended','new','limited']"
    counts = {"subscribers": clone(Subscriber, sub, {
        "username": f"'{tag}-' || g", "mobile": "'+91' || (7000000000 + g)",
        "organization_id": f"({orgs})[1 + g % 24]", "plan_id": f"({plan_ids})[1 + g % 5]",
        "status": f"({statuses})[1 + g % 8]",
        "created_at": f"now() - make_interval(days => g % {DAYS})",
        "expires_at": "now() + make_interval(days => g % 60 - 30)",
    }, "generate_series(1, %s) g WHERE true", [n])}
    pay = payments.record_payment(sub, "500.00", actor=admin, method="cash", received_at=now,
                                  auto_allocate=False)
    invoice = Invoice.objects.create(
        tenant=tenant, organization=lcos[0], subscriber=sub, currency="INR", number=f"T-{tag}",
        status="issued", issue_date=now.date(), due_date=now.date(), taxable_total=500,
        tax_total=90, total=590)
    line = InvoiceLine.objects.create(invoice=invoice, position=1, description="Plan",
                                      plan=plans[0], hsn_sac="998422", unit_price=500,
                                      tax_rate=18, taxable_value=500, tax_amount=90,
                                      line_total=590)
    tax = LineTax.objects.create(line=line, name="CGST", amount=45, rate=9)
    mine = f"subscribers_subscriber s, generate_series(1, %s) k WHERE s.tenant_id = {tenant.pk}"
    methods = "ARRAY['cash','upi','bank','card']"
    invoice_statuses = "ARRAY['paid','paid','issued','partial','cancelled']"
    counts["invoices"] = clone(Invoice, invoice, {
        "organization_id": "s.organization_id", "subscriber_id": "s.id",
        "number": f"'{tag}-' || s.id || '-' || k", "sequence": "NULL",
        "status": f"({invoice_statuses})[1 + (s.id + k) % 5]",
        "issue_date": f"current_date - ((s.id * 7 + k * 31) % {DAYS})::int",
        "due_date": f"current_date - ((s.id * 7 + k * 31) % {DAYS})::int + 7",
        "amount_paid": "0",
    }, mine, [2])
    invoices = (f"billing_invoice i WHERE i.tenant_id = {tenant.pk} AND i.id <> {invoice.pk}")
    counts["invoice lines"] = clone(InvoiceLine, line, {
        "invoice_id": "i.id", "plan_id": f"({plan_ids})[1 + i.id % 5]"}, invoices)
    lines = (f"billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id, "
             f"unnest(ARRAY['CGST','SGST']) x WHERE i.tenant_id = {tenant.pk} "
             f"AND l.id <> {line.pk}")
    counts["line taxes"] = clone(LineTax, tax, {"line_id": "l.id", "name": "x"}, lines)
    counts["payments"] = clone(Payment, pay, {
        "organization_id": "s.organization_id", "subscriber_id": "s.id",
        "number": f"'{tag}-R' || s.id || '-' || k", "sequence": "s.id * 10 + k",
        "method": f"({methods})[1 + (s.id + k) % 4]",
        "received_at": f"now() - make_interval(days => ((s.id * 3 + k * 17) % {DAYS})::int, "
                       "hours => (s.id % 24)::int)",
    }, mine, [2])
    session = RadiusSession.objects.create(
        unique_id=f"{tag:0>32}"[-32:], session_id="t", username=sub.username, subscriber=sub,
        organization=lcos[0], nas=nas[0], nas_ip=nas[0].address, started_at=now, updated_at=now)
    nas_ids = "ARRAY[" + ",".join(str(x.pk) for x in nas) + "]::bigint[]"
    nas_ips = "ARRAY[" + ",".join(f"'{x.address}'" for x in nas) + "]::inet[]"
    counts["sessions"] = clone(RadiusSession, session, {
        "unique_id": f"md5('{tag}' || s.id || '-' || k)", "session_id": "s.id || '-' || k",
        "username": "s.username", "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "nas_id": f"({nas_ids})[1 + s.id % 4]", "nas_ip": f"({nas_ips})[1 + s.id % 4]",
        "started_at": "now() - make_interval(hours => ((s.id * 5 + k * 11) % 720)::int)",
        "stopped_at": "CASE WHEN (s.id + k) % 20 = 0 THEN NULL ELSE now() END",
        "session_time": "(s.id % 7200)", "input_octets": "(s.id % 1000) * 100000",
        "output_octets": "(s.id % 1000) * 900000",
    }, mine, [2])
    log = AuthLog.objects.create(created_at=now, username=sub.username, subscriber=sub,
                                 organization=lcos[0], nas=nas[0], nas_ip=nas[0].address,
                                 outcome="accept")
    reasons = "ARRAY['','wrong_password','expired','mac_mismatch','','']"
    counts["auth log"] = clone(AuthLog, log, {
        "created_at": "now() - make_interval(mins => ((s.id * 13 + k * 7) % 10080)::int)",
        "username": "s.username", "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "outcome": "CASE WHEN (s.id + k) % 6 IN (1, 2, 3) THEN 'reject' ELSE 'accept' END",
        "reason": f"({reasons})[1 + (s.id + k) % 6]",
    }, mine, [4])
    usage = DailyUsage.objects.create(subscriber=sub, organization=lcos[0], day=now.date(),
                                      input_octets=1, output_octets=1)
    counts["daily usage"] = clone(DailyUsage, usage, {
        "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "day": "current_date - k::int", "input_octets": "(s.id % 997) * 1000000",
        "output_octets": "(s.id % 991) * 9000000",
    }, mine, [7])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    today = timezone.localdate()
    refresh_rollups(tenant, today - timedelta(days=DAYS), today)
    rollup = time.perf_counter() - started
    return {"tenant": tenant, "host": f"{tag}.bench.test", "admin": admin, "partner": partner,
            "counts": counts, "rollup": rollup}


def measure(client: Client, url: str, params: dict, host: str, runs: int) -> tuple[float, int]:
    """Best time of `runs` and the page's own queries (cache-table reads come and go)."""
    best, queries = None, None
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params, HTTP_HOST=host)
            seconds = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        best = seconds if best is None else min(best, seconds)
        own = sum("cache_entries" not in q["sql"] for q in captured.captured_queries)
        queries = own if queries is None else min(queries, own)
    return best, queries


def pages(world: dict, runs: int) -> dict:
    """{(who, page): (seconds, queries)} for the dashboard tabs and every report."""
    today = timezone.localdate()
    results = {}
    for who in ("admin", "partner"):
        client = Client()
        client.force_login(world[who])
        results[(who, "Reference: report catalog (no figures)")] = measure(
            client, "/reports/", {}, world["host"], runs)
        for tab in TABS:
            results[(who, f"Dashboard: {tab}")] = measure(client, "/admin/", {"tab": tab},
                                                          world["host"], runs)
        for key, definition in sorted(registry.for_user(world[who]).items()):
            start, end = definition.default_range(today)
            results[(who, f"Report: {key}")] = measure(
                client, f"/reports/run/{key}", {"start": start, "end": end}, world["host"], runs)
    return results


def main(small: int, large: int) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    tag = datetime.now(UTC).strftime("%m%d%H%M%S")
    sizes, built = {}, {}
    for label, n in (("small", small), ("large", large)):
        started = time.perf_counter()
        built[label] = build(n, f"{tag}{label[0]}")
        built[label]["build"] = time.perf_counter() - started
        sizes[label] = pages(built[label], 2 if label == "small" else 3)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    big = built["large"]
    grew = sorted(page for page, (_, q) in sizes["large"].items()
                  if q != sizes["small"].get(page, (0, q))[1])
    rows = []
    for (who, page), (seconds, queries) in sorted(sizes["large"].items(),
                                                  key=lambda kv: (kv[0][1], kv[0][0])):
        small_q = sizes["small"].get((who, page), (0, 0))[1]
        rows.append(f"| {page} | {'ISP admin' if who == 'admin' else 'LCO partner'} | "
                    f"{seconds * 1000:,.0f} | {queries} | {small_q} |")
    slowest = max(sizes["large"].items(), key=lambda kv: kv[1][0])
    reference = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Ref"))
    dashboard_worst = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Dash"))
    report_worst = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Report"))
    lines = [
        "## Dashboard and reports", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work), Python {platform.python_version()}, PostgreSQL {pg}. "
        "`bench/reports_dashboard.py`: one tenant per size, 4 distributors and 20 LCOs, "
        f"history spread over {DAYS} days; each page asked through Django's test client "
        "(middleware, scope, template; no network), best of 3, server time. Queries: the "
        "page's own (reads of the database cache table, which come and go, not counted).", "",
        f"Large data set: {', '.join(f'{v:,} {k}' for k, v in big['counts'].items())} "
        f"(built in {big['build']:.0f} s). Roll-up of the {DAYS} days (daily collections, "
        f"revenue and tax by plan/HSN/rate, pool snapshot): {big['rollup']:.1f} s.", "",
        f"Slowest dashboard tab {dashboard_worst * 1000:,.0f} ms, slowest report first page "
        f"{report_worst * 1000:,.0f} ms ({slowest[0][1]}); for reference, the report catalog "
        f"page, which computes no figure, took up to {reference * 1000:,.0f} ms on this busy "
        f"machine. Query counts equal at "
        f"{small:,} and {large:,} subscribers: "
        f"{'yes, for every page' if not grew else 'no: ' + ', '.join(p for _, p in grew)}.", "",
        f"| Page | As | ms ({large:,} subs) | Queries | Queries ({small:,} subs) |",
        "|---|---|---:|---:|---:|", *rows, "",
        "Not measured here: the issue's full size (1,000,000 subscribers, 5,000,000 "
        "invoices/payments, 20,000,000 accounting rows) does not fit a two-minute run on this "
        "machine. Money and tax reports read the daily roll-ups (a few thousand rows per year "
        "whatever the payment count); subscriber, session and auth-log figures read indexed, "
        "time-bounded ranges and grow with the rows in the range, not the table.",
    ]
    section = "\n".join(lines) + "\n"
    write_section(section)
    print(section)


def write_section(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the `## Dashboard and reports` section of BENCHMARKS.md, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Dashboard and reports\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [1_000, 10_000][len(args):]))
