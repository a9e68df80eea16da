"""Benchmark: the dashboard's three tabs and every report's first page, at two data sizes.

Builds one tenant per size (set-based SQL: `generate_series` copies of one row made through
the ORM, 5 invoices, 5 payments, 5 sessions, 5 auth-log rows and 15 daily-usage rows per
subscriber over 400 days), runs the roll-up job over the whole period, then asks each page
through Django's test client (middleware, scope, templates: the server time a browser would
wait for, without the network) as the ISP admin and as a partner. The query count of every
page is recorded at both sizes: it must not grow with the data. Writes the "Dashboard and
reports" section of BENCHMARKS.md (other sections are kept; the full-size timings of the
section it replaces are shown beside the new ones) and prints it.

    DATABASE_URL=postgres://.../isp_reports_full .venv/bin/python bench/reports_dashboard.py \
        [--reuse] [small] [large]

Sizes default to 10,000 and 1,000,000 subscribers (the issue's size: about 25 minutes to
build on this shared 2-CPU machine, 11 GB). The built tenants stay in the database; `--reuse`
measures them again after re-running the nightly roll-up, without building anything.
"""

import json
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
# Rows per subscriber, the same at every size: 1,000,000 subscribers give the issue's
# 5,000,000 invoices and payments and 20,000,000 accounting rows (sessions + daily usage).
PER_SUB = {"invoices": 5, "payments": 5, "sessions": 5, "auth log": 5, "daily usage": 15}
# From this size, tables are loaded without their secondary indexes, rebuilt right after.
BULK_FROM = int(os.environ.get("BENCH_BULK_FROM", 100_000))
LOADED = ("subscribers_subscriber", "billing_invoice", "billing_invoiceline", "billing_linetax",
          "billing_payment", "networking_radiussession", "networking_authlog",
          "networking_dailyusage")


class BulkLoad:
    """Loads a table faster: its indexes that back no constraint are dropped first and built
    again (from their own definitions) once the rows are in, before anything is measured."""

    def __init__(self, table: str, enabled: bool):
        self.table, self.enabled, self.definitions = table, enabled, []

    def __enter__(self):
        if not self.enabled:
            return self
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = 'public' AND i.tablename = %s AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
                           [self.table])
            self.definitions = cursor.fetchall()
            for name, _ in self.definitions:
                cursor.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            for _, definition in self.definitions:
                cursor.execute(definition)
        return False


def clone(model, template, overrides: dict[str, str], source: str, params=(),
          bulk: bool = False, order: str = "") -> int:
    """Insert one row per row of `source` (aliases available to `overrides`), copying `template`
    (alias t) for every column not overridden."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join(overrides[c].replace("%", "%%") if c in overrides else f't."{c}"'
                       for c in columns)
    table = model._meta.db_table
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (f"INSERT INTO {table} ({names}) "  # noqa: S608
           f"SELECT {values} FROM {table} t, {source} AND t.id = %s "
           f"{order.replace('%', '%%')}")
    with BulkLoad(table, bulk), connection.cursor() as cursor:
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
    bulk = n >= BULK_FROM
    with connection.cursor() as cursor:  # a load session: the data is re-made if lost
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        if bulk:  # keys are generated from existing rows; skip the per-row foreign-key checks
            cursor.execute("SET session_replication_role = replica")
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
    timings = {}

    def step(name, *args, **kwargs):
        started = time.perf_counter()
        counts[name] = clone(*args, bulk=bulk, **kwargs)
        timings[name] = time.perf_counter() - started
        print(f"  {tag}: {counts[name]:,} {name} in {timings[name]:.0f} s", flush=True)

    counts = {}
    step("subscribers", Subscriber, sub, {
        "username": f"'{tag}-' || g", "mobile": "'+91' || (7000000000 + g)",
        "name": "'Subscriber ' || g",
        "organization_id": f"({orgs})[1 + g % 24]", "plan_id": f"({plan_ids})[1 + g % 5]",
        "status": f"({statuses})[1 + g % 8]",
        "created_at": f"now() - make_interval(days => g % {DAYS})",
        "expires_at": "now() + make_interval(days => g % 60 - 30)",
    }, "generate_series(1, %s) g WHERE true", [n])
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
    # Recent invoices are a mix of states; older ones are mostly paid (a few written off or
    # still open), as on a running ISP.
    age = f"((s.id * 7 + k * 31) % {DAYS})"
    invoice_status = (f"CASE WHEN {age} < 45 THEN (ARRAY['paid','paid','issued','partial',"
                      f"'cancelled'])[1 + (s.id + k) % 5] WHEN (s.id + k) % 50 = 0 THEN 'issued' "
                      "WHEN (s.id + k) % 25 = 0 THEN 'cancelled' ELSE 'paid' END")
    step("invoices", Invoice, invoice, {
        "organization_id": "s.organization_id", "subscriber_id": "s.id",
        "number": f"'{tag}-' || s.id || '-' || k", "sequence": "NULL",
        "status": invoice_status,
        "issue_date": f"current_date - {age}::int",
        "due_date": f"current_date - {age}::int + 7",
        "amount_paid": f"CASE WHEN ({invoice_status}) = 'paid' THEN t.total "
                       f"WHEN ({invoice_status}) = 'partial' THEN t.total / 2 ELSE 0 END",
    }, mine, [PER_SUB["invoices"]])
    invoices = (f"billing_invoice i WHERE i.tenant_id = {tenant.pk} AND i.id <> {invoice.pk}")
    step("invoice lines", InvoiceLine, line, {
        "invoice_id": "i.id", "plan_id": f"({plan_ids})[1 + i.id % 5]"}, invoices)
    lines = (f"billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id, "
             f"unnest(ARRAY['CGST','SGST']) x WHERE i.tenant_id = {tenant.pk} "
             f"AND l.id <> {line.pk}")
    step("line taxes", LineTax, tax, {"line_id": "l.id", "name": "x"}, lines)
    step("payments", Payment, pay, {
        "organization_id": "s.organization_id", "subscriber_id": "s.id",
        "number": f"'{tag}-R' || s.id || '-' || k", "sequence": "s.id * 10 + k",
        "method": f"({methods})[1 + (s.id + k) % 4]",
        "received_at": f"now() - make_interval(days => ((s.id * 3 + k * 17) % {DAYS})::int, "
                       "hours => (s.id % 24)::int)",
    }, mine, [PER_SUB["payments"]])
    session = RadiusSession.objects.create(
        unique_id=f"{tag:0>32}"[-32:], session_id="t", username=sub.username, subscriber=sub,
        organization=lcos[0], nas=nas[0], nas_ip=nas[0].address, started_at=now, updated_at=now)
    nas_ids = "ARRAY[" + ",".join(str(x.pk) for x in nas) + "]::bigint[]"
    nas_ips = "ARRAY[" + ",".join(f"'{x.address}'" for x in nas) + "]::inet[]"
    # 30% of subscribers online now (their latest session, started in the last day); the other
    # sessions are closed and spread over the whole history.
    online = "(k = 1 AND s.id % 10 < 3)"
    started = (f"CASE WHEN {online} THEN now() - make_interval(mins => (s.id % 1440)::int) "
               f"ELSE now() - make_interval(hours => ((s.id * 5 + k * 11) % ({DAYS} * 24))::int)"
               " END")
    step("sessions", RadiusSession, session, {
        "unique_id": f"md5('{tag}' || s.id || '-' || k)", "session_id": "s.id || '-' || k",
        "username": "s.username", "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "nas_id": f"({nas_ids})[1 + s.id % 4]", "nas_ip": f"({nas_ips})[1 + s.id % 4]",
        "started_at": started, "updated_at": started,
        "stopped_at": f"CASE WHEN {online} THEN NULL ELSE {started} "
                      "+ make_interval(secs => (s.id % 7200)) END",
        "session_time": "(s.id % 7200)", "input_octets": "(s.id % 1000) * 100000",
        "output_octets": "(s.id % 1000) * 900000",
    }, mine, [PER_SUB["sessions"]])
    log = AuthLog.objects.create(created_at=now, username=sub.username, subscriber=sub,
                                 organization=lcos[0], nas=nas[0], nas_ip=nas[0].address,
                                 outcome="accept")
    reasons = "ARRAY['','wrong_password','expired','mac_mismatch','','']"
    logged = f"now() - make_interval(mins => ((s.id * 13 + k * 7) % ({DAYS} * 1440))::int)"
    step("auth log", AuthLog, log, {  # written in time order, as the RADIUS server appends it
        "created_at": logged,
        "username": "s.username", "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "nas_id": f"({nas_ids})[1 + s.id % 4]", "nas_ip": f"({nas_ips})[1 + s.id % 4]",
        "outcome": "CASE WHEN (s.id + k) % 6 IN (1, 2, 3) THEN 'reject' ELSE 'accept' END",
        "reason": f"({reasons})[1 + (s.id + k) % 6]",
    }, mine, [PER_SUB["auth log"]], order=f"ORDER BY {logged}")
    usage = DailyUsage.objects.create(subscriber=sub, organization=lcos[0], day=now.date(),
                                      input_octets=1, output_octets=1)
    step("daily usage", DailyUsage, usage, {
        "subscriber_id": "s.id", "organization_id": "s.organization_id",
        "day": f"current_date - ((s.id * 7 + k * 27) % {DAYS})::int",
        "input_octets": "(s.id % 997) * 1000000",
        "output_octets": "(s.id % 991) * 9000000",
    }, f"{mine} AND s.id <> {sub.pk}", [PER_SUB["daily usage"]])
    started_at = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("RESET ALL")  # measure with the server's own settings
        for table in LOADED:  # as autovacuum would: statistics and the visibility map
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")  # the small tables too (organizations, plans, NAS)
    timings["vacuum and analyze"] = time.perf_counter() - started_at
    started_at = time.perf_counter()
    today = timezone.localdate()
    refresh_rollups(tenant, today - timedelta(days=DAYS), today)
    rollup = time.perf_counter() - started_at
    return {"tenant": tenant, "host": f"{tag}.bench.test", "admin": admin, "partner": partner,
            "counts": counts, "rollup": rollup, "timings": timings}


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


def world_of(n: int, reuse: bool) -> dict:
    """The tenant of size `n`: built now, or (`--reuse`) the one an earlier run kept."""
    from modules.core.models import Tenant

    tag = f"r{n}"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_reports_build "
                       "(tag text PRIMARY KEY, info jsonb NOT NULL)")
        cursor.execute("SELECT info FROM bench_reports_build WHERE tag = %s", [tag])
        kept = cursor.fetchone()
    tenant = Tenant.objects.filter(slug=f"bench-rep-{tag}").first()
    if tenant is not None and kept and reuse:
        info = json.loads(kept[0]) if isinstance(kept[0], str) else kept[0]
        today = timezone.localdate()  # what the nightly roll-up job does (the last 35 days)
        started = time.perf_counter()
        refresh_rollups(tenant, today - timedelta(days=34), today)
        info["rerun_rollup"] = time.perf_counter() - started
        started = time.perf_counter()  # the five-minute job: two days and the tallies
        refresh_rollups(tenant, today - timedelta(days=1), today)
        info["periodic_rollup"] = time.perf_counter() - started
        return {"tenant": tenant, "host": f"{tag}.bench.test",
                "admin": User.objects.get(username=f"admin-{tag}"),
                "partner": User.objects.get(username=f"lco-{tag}"), **info}
    if tenant is not None:
        raise SystemExit(f"A tenant of {n:,} subscribers exists: pass --reuse, or use a new "
                         "database.")
    started = time.perf_counter()
    world = build(n, tag)
    world["build"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT split_part(pg_size_pretty(pg_database_size(current_database())),"
                       " ' ', 1) || ' ' || split_part(pg_size_pretty(pg_database_size("
                       "current_database())), ' ', 2)")
        world["db_size"] = cursor.fetchone()[0]
        info = {k: world[k] for k in ("counts", "rollup", "timings", "build", "db_size")}
        info["built_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        info["load_at_build"] = list(os.getloadavg())
        cursor.execute("INSERT INTO bench_reports_build VALUES (%s, %s)", [tag, json.dumps(info)])
        world.update(info)
    return world


def main(small: int, large: int, reuse: bool) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    sizes, built = {}, {}
    for label, n in (("small", small), ("large", large)):
        built[label] = world_of(n, reuse)
    loads = []
    for label in ("small", "large"):
        loads.append(os.getloadavg()[0])
        sizes[label] = pages(built[label], 2 if label == "small" else 3)
        loads.append(os.getloadavg()[0])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    big, little = built["large"], built["small"]
    previous, previous_at = previous_run()
    grew = sorted(page for page, (_, q) in sizes["large"].items()
                  if q != sizes["small"].get(page, (0, q))[1])
    rows = []
    for (who, page), (seconds, queries) in sorted(sizes["large"].items(),
                                                  key=lambda kv: (kv[0][1], kv[0][0])):
        small_s, small_q = sizes["small"].get((who, page), (0, 0))
        as_ = "ISP admin" if who == "admin" else "LCO partner"
        target = 1.0 if page.startswith("Dash") else 2.0 if page.startswith("Report") else None
        mark = "" if target is None or seconds < target else " (over target)"
        rows.append(f"| {page} | {as_} | {small_s * 1000:,.0f} | {seconds * 1000:,.0f}{mark} | "
                    f"{previous.get((page, as_), '—')} | {queries} | {small_q} |")
    slowest = max(sizes["large"].items(), key=lambda kv: kv[1][0])
    reference = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Ref"))
    dashboard_worst = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Dash"))
    report_worst = max(v[0] for (w, p), v in sizes["large"].items() if p.startswith("Report"))
    misses = sorted({p for (w, p), (sec, _) in sizes["large"].items()
                     if (p.startswith("Dash") and sec >= 1) or (p.startswith("Report")
                                                                and sec >= 2)})
    load = ", ".join(f"{x:.1f}" for x in loads)
    timings = ", ".join(f"{k} {v:.0f} s" for k, v in big["timings"].items())
    lines = [
        "## Dashboard and reports", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work), Python {platform.python_version()}, PostgreSQL {pg} "
        "(stock settings: shared_buffers 128MB, work_mem 4MB). `bench/reports_dashboard.py`: "
        "one tenant per size in one database, 4 distributors and 20 LCOs, 5 plans, history "
        f"spread over {DAYS} days; each page asked through Django's test client (middleware, "
        "scope, template; no network), server time, best of 2 (small) and 3 (full size). "
        "Queries: the page's own (reads of the database cache table, which come and go, not "
        "counted). Load average (1 min) before/after measuring the small and the full size: "
        f"{load}.", "",
        f"Full size: {', '.join(f'{v:,} {k}' for k, v in big['counts'].items())}; "
        "20,000,000 accounting rows = sessions + daily usage. 30% of subscribers online "
        "(one open session each, started in the last day); recent invoices mixed states, "
        "older ones mostly paid. "
        f"Built {big['built_at']} in {big['build']:,.0f} s at a load average of "
        f"{big['load_at_build'][0]:.1f} (set-based inserts from `generate_series`, "
        "synchronous_commit off; each table loaded without its secondary indexes, which were "
        "then rebuilt from their own definitions, foreign-key checks skipped for the load "
        f"session; then VACUUM ANALYZE): {timings}. Database {big['db_size']}. Roll-up of the "
        f"{DAYS} days (daily collections, revenue and tax, pools, dashboard tallies): "
        f"{big['rollup']:.0f} s; a `--reuse` run first re-runs the nightly job's 35 days: "
        f"{big.get('rerun_rollup', 0):.0f} s; the five-minute job (two days and the "
        f"dashboard tallies): {big.get('periodic_rollup', 0):.1f} s. "
        f"Small size: {little['counts']['subscribers']:,} subscribers, same ratios.", "",
        f"Slowest dashboard tab {dashboard_worst * 1000:,.0f} ms (target 1,000), slowest "
        f"report first page {report_worst * 1000:,.0f} ms (target 2,000; {slowest[0][1]}); "
        f"the report catalog, which computes no figure, took up to {reference * 1000:,.0f} ms. "
        f"Over target: {', '.join(misses) if misses else 'none'}. Query counts equal at "
        f"{small:,} and {large:,} subscribers: "
        f"{'yes, for every page' if not grew else 'no: ' + ', '.join(p for _, p in grew)}.", "",
        f"| Page | As | ms ({small:,} subs) | ms ({large:,} subs) | ms, previous run "
        f"({previous_at or 'none'}) | Queries | Queries ({small:,} subs) |",
        "|---|---|---:|---:|---:|---:|---:|", *rows, "",
        "The dashboard reads tallies the roll-up job counts every five minutes (subscribers by "
        "organization and status, open invoices by due day, sessions online per NAS and per "
        "hour) and shows when they were counted; money and tax figures read the daily roll-ups; "
        "report pages read one row more than they show instead of counting every row.",
    ]
    section = "\n".join(lines) + "\n"
    write_section(section)
    print(section)


def previous_run(path: Path = ROOT / "BENCHMARKS.md") -> tuple[dict, str | None]:
    """The full-size timings of the section being replaced, shown beside the new ones."""
    text = path.read_text() if path.exists() else ""
    match = re.search(r"^## Dashboard and reports\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not match:
        return {}, None
    body = match.group(1)
    when = re.match(r"\s*(\d{4}-\d\d-\d\d \d\d:\d\d) UTC", body)
    header = next((line for line in body.splitlines() if line.startswith("| Page |")), "")
    columns = [c.strip() for c in header.strip("|").split("|")]
    full = next((i for i, c in enumerate(columns) if c.startswith("ms (") and "1,000,000" in c),
                2)
    found = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) > full and cells[0] not in ("Page", ""):
            found[(cells[0], cells[1])] = cells[full].split(" ")[0]
    return found, when.group(1) + " UTC" if when else None


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
    reuse = "--reuse" in sys.argv
    args = [int(a) for a in sys.argv[1:] if a != "--reuse"][:2]
    main(*(args + [10_000, 1_000_000][len(args):]), reuse=reuse)
