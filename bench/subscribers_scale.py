"""Benchmark: the subscriber pages with 1,000,000 subscribers, a 100,000-row CSV import, and the
streamed export of every subscriber.

Against the database of DATABASE_URL (use a database of its own). The first run generates the
subscribers of a bench tenant in SQL (kept for later runs); each run then measures, in this
process, the server time of the admin's changelist (through Django's test client, the full
request: middleware, scope, queries, template), the import (SubscriberResource, the admin's
import path: dry run, then confirm) and, in a child process so its peak memory is its own, the
streamed CSV export view. Imported rows are deleted afterwards. Figures go to the
"Subscribers" section of BENCHMARKS.md (other sections are kept).

    DATABASE_URL=postgres://.../isp_subs_bench .venv/bin/python bench/subscribers_scale.py \
        [subscribers] [import rows]
"""

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DJANGO_DEBUG"] = "0"  # no query log growing in memory

import django  # noqa: E402

django.setup()

import tablib  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from modules.core.models import Organization, Role, Tenant, User  # noqa: E402
from modules.core.services import add_organization, create_portal_user, create_tenant  # noqa: E402
from modules.plans.models import Plan  # noqa: E402
from modules.subscribers.crypto import encrypt_password  # noqa: E402
from modules.subscribers.models import StatusChange, Subscriber  # noqa: E402
from modules.subscribers.resources import SubscriberResource  # noqa: E402

SLUG = "bench-subscribers"
ADMIN = "bench-subs-admin"
CHANGELIST = "admin:subscribers_subscriber_changelist"

GENERATE = """
INSERT INTO subscribers_subscriber (
    tenant_id, organization_id, username, password_encrypted, name, mobile, email, address,
    area, city, state, pincode, tax_number, plan_id, status, activated_at, expires_at,
    auto_renew, connection_type, nas_ip, mac_address, bind_mac_on_first_login, static_ipv4,
    ipv6_prefix, cpe, notes, created_at, updated_at)
SELECT %(tenant)s, (%(orgs)s::bigint[])[1 + g %% %(norgs)s], 'user' || g, %(pw)s,
    'Subscriber ' || g, '+9198' || lpad(g::text, 8, '0'), 'user' || g || '@mail.example', '',
    (ARRAY['Kothrud', 'Baner', 'Aundh', 'Wakad', 'Hinjewadi'])[1 + g %% 5], 'Pune',
    'Maharashtra', '411038', '', (%(plans)s::bigint[])[1 + g %% %(nplans)s],
    CASE WHEN g %% 100 = 7 THEN 'new' WHEN g %% 50 = 3 THEN 'suspended'
         WHEN g %% 20 = 5 THEN 'expired' WHEN g %% 40 = 9 THEN 'limited' ELSE 'active' END,
    now() - interval '20 days',
    CASE WHEN g %% 100 = 7 THEN NULL
         ELSE now() + ((g %% 61) - 10) * interval '1 day' + (g %% 86400) * interval '1 second'
    END,
    true, 'pppoe', ('10.0.' || (g %% 4) || '.1')::inet,
    regexp_replace(lpad(upper(to_hex(g)), 12, '0'), '(..)(?!$)', '\\1:', 'g'), false,
    CASE WHEN g %% 10 = 0 THEN ('100.' || (g >> 16 & 255) || '.' || (g >> 8 & 255) || '.'
                                 || (g & 255))::inet END,
    '', '', '', now() - g * interval '1 second', now()
FROM generate_series(1, %(n)s) AS g
"""


def bench_world(rows: int):
    """The bench tenant with `rows` subscribers under 20 partners (generated once)."""
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = create_tenant(name="Bench Subscribers", slug=SLUG)
        root = tenant.root
        for d in range(4):
            dist = add_organization(root, name=f"Distributor {d}", code=f"bd{d}",
                                    kind="distributor")
            for lco in range(5):
                add_organization(dist, name=f"LCO {d}.{lco}", code=f"bl{d}{lco}", kind="lco")
        for speed in (30, 50, 100, 150, 200, 300, 500, 1000):
            Plan.objects.create(organization=root, code=f"fiber-{speed}", name=f"Fiber {speed}",
                                price=speed * 5, download_kbps=speed * 1000,
                                upload_kbps=speed * 500)
        role = Role.objects.create(tenant=tenant, name="Everything")
        role.permissions.set(Permission.objects.all())
        create_portal_user(username=ADMIN, password="x" * 20, organization=root,
                           kind=User.Kind.ISP_ADMIN, roles=[role])
    admin = User.objects.get(username=ADMIN)
    have = Subscriber.objects.filter(tenant=tenant).count()
    generated = None
    if have != rows:
        wipe(Subscriber.objects.filter(tenant=tenant))
        orgs = list(Organization.objects.filter(tenant=tenant, depth=3).values_list("pk",
                                                                                     flat=True))
        plans = list(Plan.objects.filter(organization__tenant=tenant).values_list("pk",
                                                                                 flat=True))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(GENERATE, {"tenant": tenant.pk, "orgs": orgs, "norgs": len(orgs),
                                      "plans": plans, "nplans": len(plans),
                                      "pw": encrypt_password("Secret-123"), "n": rows})
            # Statistics and the visibility map (index-only scans), as autovacuum would.
            cursor.execute("VACUUM ANALYZE subscribers_subscriber")
        generated = time.perf_counter() - started
    return tenant, admin, generated


def wipe(subscribers) -> None:
    """Delete bench rows in SQL (the ORM's cascade collector walks every row in Python)."""
    ids = subscribers.values("pk")
    StatusChange.objects.filter(subscriber__in=ids)._raw_delete(connection.alias)
    subscribers._raw_delete(connection.alias)


def timed_get(client, params, repeat=3):
    url = reverse(CHANGELIST)
    client.get(url, params)  # warm: sessions, per-user caches, plan filter choices
    times, cpu, db, counts = [], [], [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        db.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        assert response.status_code in (200, 302), (params, response.status_code)
        counts.append(len(queries))
        shown = response.content.count(b'name="_selected_action"')
    return (statistics.median(times), statistics.median(cpu), statistics.median(db),
            max(counts), shown)


def measure_lists(admin, tenant):
    client = Client()
    client.force_login(admin)
    plan = Plan.objects.filter(organization__tenant=tenant).order_by("pk").first()
    org = Organization.objects.filter(tenant=tenant, depth=3).order_by("pk").first()
    cases = [
        ("Subscriber list, first page", {}),
        ("Quick filter: expiring in 7 days", {"list": "expiring_7"}),
        ("Quick filter: expiring today / tomorrow", {"list": "expiring_1"}),
        ("Quick filter: expired", {"list": "expired"}),
        ("Quick filter: suspended", {"list": "suspended"}),
        ("Quick filter: limited", {"list": "limited"}),
        ("Quick filter: new", {"list": "new"}),
        ("Quick filter: recently added", {"list": "recent"}),
        ("Filter: by plan", {"plan": str(plan.pk)}),
        ("Filter: by organization", {"organization__id__exact": str(org.pk)}),
        ("Filter: by area", {"area": "Baner"}),
        ("Filter: by NAS", {"nas": "10.0.2.1"}),
        ("Search: username (part)", {"q": "user77712"}),
        ("Search: name (part)", {"q": "Subscriber 4242"}),
        ("Search: phone, typed with spaces", {"q": "98004 24242"}),
        ("Search: email", {"q": "user424242@mail.example"}),
        ("Search: MAC, Cisco notation", {"q": "0000.0006.7932"}),
        ("Search: static IP", {"q": "100.6.122.72"}),
        ("Page 5,000", {"p": "5000"}),
        ("Page 5,000 of expiring in 30 days", {"p": "5000", "list": "expiring_30"}),
        ("Sorted by expiry, page 100", {"o": "7", "p": "100"}),
    ]
    results = []
    for label, params in cases:
        results.append((label, *timed_get(client, params)))
        print(*results[-1], flush=True)
    return results


def measure_import(admin, tenant, rows: int):
    tag = datetime.now(UTC).strftime("%H%M%S")
    orgs = list(Organization.objects.filter(tenant=tenant, depth=3).values_list("code",
                                                                                 flat=True))
    headers = ["username", "password", "name", "mobile", "email", "area", "city", "organization",
               "plan", "mac_address", "connection_type"]
    data = tablib.Dataset(headers=headers)
    for i in range(rows):
        data.append([f"imp{tag}-{i}", f"Pass-{i:06d}", f"Imported Person {i}",
                     f"+91 97{i:08d}"[:15], f"imp{tag}.{i}@mail.example", "Kothrud", "Pune",
                     orgs[i % len(orgs)], "fiber-100",
                     f"0A:{tag[:2]}:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}:01",
                     "pppoe"])
    data = tablib.Dataset().load(data.export("csv"), format="csv")
    timings = {}
    for label, dry_run in (("dry run (preview)", True), ("confirm", False)):
        started = time.perf_counter()
        result = SubscriberResource(user=admin).import_data(
            data, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True,
            file_name="bench.csv")
        timings[label] = time.perf_counter() - started
        print(label, timings[label], flush=True)
        assert not result.has_errors() and not result.has_validation_errors(), label
    imported = Subscriber.objects.filter(tenant=tenant, username__startswith=f"imp{tag}-")
    assert imported.count() == rows
    assert imported.order_by("pk").first().get_password() == "Pass-000000"
    # One bad row among them: the dry run finds it and the confirm imports nothing.
    data[rows // 2] = (*data[rows // 2][:4], "not-an-email", *data[rows // 2][5:])
    started = time.perf_counter()
    bad = SubscriberResource(user=admin).import_data(
        data, dry_run=True, use_transactions=True, rollback_on_validation_errors=True)
    timings["dry run with row errors (all rows duplicates + 1 bad email)"] = (
        time.perf_counter() - started)
    assert bad.has_validation_errors()
    wipe(imported)
    return timings


INSERT_COPIES = """
INSERT INTO subscribers_subscriber (
    tenant_id, organization_id, username, password_encrypted, name, mobile, email, address,
    area, city, state, pincode, tax_number, plan_id, status, auto_renew, connection_type,
    mac_address, bind_mac_on_first_login, ipv6_prefix, cpe, notes, created_at, updated_at)
SELECT tenant_id, organization_id, 'copy-' || username, password_encrypted, name, mobile, email,
    address, area, city, state, pincode, tax_number, plan_id, status, auto_renew,
    connection_type, mac_address, false, '', '', '', now(), now()
FROM subscribers_subscriber WHERE tenant_id = %s ORDER BY id LIMIT %s
"""


def measure_insert_cost(tenant, rows: int = 10_000) -> dict[str, float]:
    """Seconds PostgreSQL alone takes to insert `rows` subscribers (indexes, constraints,
    triggers), with and without the RADIUS notification triggers; rolled back."""
    from django.db import transaction

    timings = {}
    disable = "ALTER TABLE subscribers_subscriber DISABLE TRIGGER radius_cfg_subscriber_ins"
    for label, sql in (("as deployed", None), ("without the notify trigger", disable)):
        with transaction.atomic(), connection.cursor() as cursor:
            if sql:
                cursor.execute(sql)
            started = time.perf_counter()
            cursor.execute(INSERT_COPIES, [tenant.pk, rows])
            timings[label] = time.perf_counter() - started
            transaction.set_rollback(True)
    return timings


def export_child(tenant_id: int) -> None:
    """In a child process: stream the export view of every subscriber; print the figures."""
    admin = User.objects.get(username=ADMIN)
    client = Client()
    client.force_login(admin)
    started = time.perf_counter()
    response = client.get(reverse(CHANGELIST) + "export_csv/")
    rows = size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows - 1, "mb": size / 1e6,
                      "peak_mb": peak_mb}))


def measure_export(tenant):
    out = subprocess.run([sys.executable, __file__, "--export-child", str(tenant.pk)],  # noqa: S603
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(rows: int, import_rows: int) -> None:
    tenant, admin, generated = bench_world(rows)
    print("generated", generated, flush=True)
    load = os.getloadavg()[0]
    lists = measure_lists(admin, tenant)
    load = max(load, os.getloadavg()[0])
    exported = measure_export(tenant)
    print("export", exported, flush=True)
    imports = measure_import(admin, tenant, import_rows)
    inserts = measure_insert_cost(tenant)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    made = (f"generated in SQL in {generated:.0f} s this run" if generated is not None
            else "generated by an earlier run")
    lines = [
        "## Subscribers", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work), Python {platform.python_version()}, PostgreSQL {pg}. "
        f"`bench/subscribers_scale.py`, {rows:,} subscribers of one ISP under 20 partners "
        f"({made}).", "",
        "### Subscriber pages (server time, in-process request as the ISP admin)", "",
        "Median of 3 after a warm-up request: wall time of the request, CPU time of this "
        "process during it (Python: middleware, admin, template), time in SQL (as seen by the "
        "driver); queries per request; rows on the page (50 a page). No count query: one "
        "query reads the ids of the page and of the 10 pages after it (an index-only walk of "
        "the sort order's index), a second fetches the page's rows by id. On a machine shared "
        "with other work the "
        f"wall time includes waiting for a CPU (load average up to {load:.0f} on "
        f"{os.cpu_count()} CPUs while the pages were measured).", "",
        "| Page | Wall ms | CPU ms | SQL ms | Queries | Rows shown |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {label} | {wall:.0f} | {cpu:.0f} | {sql:.0f} | {queries} | {shown} |"
          for label, wall, cpu, sql, queries, shown in lists),
        "",
        f"### Import of {import_rows:,} subscribers from CSV", "",
        "SubscriberResource, the admin's import path: per-row validation of every column "
        "(phone, email, MAC, IP, plan and organization in scope, duplicates in the file and "
        "against the database), one transaction, all or nothing.", "",
        "| Pass | Seconds | Rows/s |", "|---|---:|---:|",
        *(f"| {label} | {seconds:.1f} | {import_rows / seconds:,.0f} |"
          for label, seconds in imports.items()),
        "",
        "Of the confirm, PostgreSQL's own insert work (10,000 rows in one INSERT ... SELECT, "
        "rolled back; deferred foreign-key checks not included): "
        + "; ".join(f"{label} {seconds:.2f} s" for label, seconds in inserts.items()) + ".",
        "",
        "### Streamed export of every subscriber (CSV)", "",
        f"The admin's `export_csv` view in a child process: {exported['rows']:,} rows, "
        f"{exported['mb']:.0f} MB of CSV in {exported['seconds']:.1f} s; peak resident memory "
        f"of the whole process (Django included) {exported['peak_mb']:.0f} MB.",
    ]
    section = "\n".join(lines) + "\n"
    write_section(section)
    print(section)


def write_section(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this module's `## Subscribers` section of BENCHMARKS.md, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Subscribers\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--export-child":
        export_child(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
             int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
