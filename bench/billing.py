"""Benchmark: the auto-renewal run and the invoice list at scale.

1. Renewal run: N subscribers due now, each with a wallet holding one period's price, renewed
   by `renewals.renew_due` (the celery-beat task's body); a second run right after must renew
   nobody. Afterwards every wallet equals the sum of its ledger entries and the invoice numbers
   are gap-free.
2. Invoice list: M invoices of one ISP spread over four organizations, generated in SQL; the
   admin changelist (`/admin/billing/invoice/`) is timed through the whole Django stack for
   the ISP admin and for a partner (first page, a deep page, a number search, a status filter).

Each run uses fresh tenants, so it can be repeated. Writes the "Billing" section of
BENCHMARKS.md (other sections are kept) and prints it.

    DATABASE_URL=postgres://... .venv/bin/python bench/billing.py [renewals] [invoices] [workers]

`invoices` 0 runs the renewals only and keeps the invoice-list figures already in
BENCHMARKS.md (and `renewals` 0 keeps the renewal figures).
"""

import os
import platform
import re
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Events queued after each renewal (re-authorise live sessions) go to an in-process broker.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from modules.billing import renewals  # noqa: E402
from modules.billing.models import BillingSettings, Invoice, LedgerEntry, Wallet  # noqa: E402
from modules.core.models import Role, User  # noqa: E402
from modules.core.services import add_organization, create_portal_user, create_tenant  # noqa: E402
from modules.plans.models import Plan, TaxClass  # noqa: E402
from modules.settings_hub.models import GeneralSettings  # noqa: E402
from modules.subscribers.models import Subscriber  # noqa: E402


def make_isp(tag: str, slug: str):
    tenant = create_tenant(name=f"Bench {slug} {tag}", slug=f"bench-{slug}-{tag}",
                           domains=(f"{slug}-{tag}.bench.test",))
    GeneralSettings.objects.create(tenant=tenant, company_name="Bench ISP", currency="INR",
                                   state="Maharashtra", tax_number="27AABCS1234F1Z5",
                                   timezone="Asia/Kolkata")
    BillingSettings.objects.create(tenant=tenant)
    gst = TaxClass.objects.create(tenant=tenant, name="GST 18", rate=Decimal("18"),
                                  hsn_sac="998422")
    plan = Plan.objects.create(organization=tenant.root, code="fiber50", name="Fiber 50",
                               price=Decimal("500.00"), tax_class=gst, download_kbps=50_000,
                               upload_kbps=20_000, validity_value=30)
    return tenant, plan


def bench_renewals(count: int, tag: str, workers: int = 1) -> dict:
    tenant, plan = make_isp(tag, "renew")
    root = tenant.root
    lcos = [add_organization(root, name=f"LCO {i}", code=f"lco{i}", kind="lco")
            for i in range(4)]
    now = timezone.now()
    template = Subscriber(username="x")
    template.set_password("Secret-123")
    started = time.perf_counter()
    for offset in range(0, count, 10_000):
        Subscriber.objects.bulk_create([
            Subscriber(tenant=tenant, organization=lcos[i % 4], username=f"r{tag}{i:07d}",
                       password_encrypted=template.password_encrypted, name=f"Subscriber {i}",
                       state="Maharashtra", plan=plan, status=Subscriber.Status.ACTIVE,
                       activated_at=now - timedelta(days=30),
                       expires_at=now - timedelta(seconds=i % 3600 + 1))
            for i in range(offset, min(offset + 10_000, count))], batch_size=5_000)
    subs = list(Subscriber.objects.filter(tenant=tenant).values_list("pk", "organization_id"))
    Wallet.objects.bulk_create([
        Wallet(tenant=tenant, organization_id=org, subscriber_id=pk, currency="INR",
               balance=Decimal("590.00")) for pk, org in subs], batch_size=5_000)
    wallets = Wallet.objects.filter(tenant=tenant).values_list("pk", "organization_id")
    LedgerEntry.objects.bulk_create([
        LedgerEntry(tenant=tenant, organization_id=org, wallet_id=pk, kind="adjustment",
                    amount=Decimal("590.00"), balance_after=Decimal("590.00"),
                    memo="Opening advance") for pk, org in wallets], batch_size=5_000)
    with connection.cursor() as cursor:
        # Statistics as autovacuum keeps them on a live table (the rows were inserted a moment
        # ago; subscribers normally fall due by time passing, not by a bulk insert).
        cursor.execute("ANALYZE subscribers_subscriber, billing_wallet")
    setup = time.perf_counter() - started
    print(f"renewals: {count:,} due subscribers made in {setup:.0f} s", file=sys.stderr)

    load_before = os.getloadavg()[0]
    backends = BackendCPU()
    started, cpu = time.perf_counter(), time.process_time()
    with backends, CaptureQueriesContext(connection) as queries:
        renewed = renewals.renew_due(now=now, workers=workers)
    first, cpu = time.perf_counter() - started, time.process_time() - cpu
    load_after = os.getloadavg()[0]
    # With several workers the queries run on the workers' own connections (not captured).
    batches = max(-(-renewed // renewals.BATCH_SIZE), 1)
    per_batch = len(queries.captured_queries) / batches if workers == 1 else None
    db_share = sum(float(q["time"]) for q in queries.captured_queries) / first
    started = time.perf_counter()
    again = renewals.renew_due(now=now, workers=workers)
    second = time.perf_counter() - started

    invoices = Invoice.objects.filter(tenant=tenant)
    sequences = list(invoices.order_by("sequence").values_list("sequence", flat=True))
    assert renewed == count and again == 0, (renewed, again)
    assert sequences == list(range(sequences[0], sequences[0] + count)), "numbering gap"
    assert renewals.balance_check(Wallet.objects.filter(tenant=tenant).values("pk")) == []
    assert not Wallet.objects.filter(tenant=tenant).exclude(balance=0).exists()
    assert not Subscriber.objects.filter(tenant=tenant, expires_at__lte=now).exists()
    return {"count": count, "setup": setup, "first": first, "second": second, "cpu": cpu,
            "queries": per_batch, "db_share": db_share, "workers": workers,
            "load": (load_before, load_after), "pg_cpu": backends.seconds,
            "batch_size": renewals.BATCH_SIZE}


class BackendCPU:
    """CPU seconds of the PostgreSQL backends serving this process while in the block, read
    from /proc (PostgreSQL on this machine): the main connection's and the workers' (each
    sampled every 50 ms until it closes). None when /proc cannot see them."""

    def __init__(self):
        self.start, self.last, self.seconds = {}, {}, None
        self._stop = threading.Event()

    @staticmethod
    def _ticks(pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return int(fields[11]) + int(fields[12])  # utime + stime

    def _note(self, sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        self.start.setdefault(pid, 0)

    def _sample(self):
        while not self._stop.wait(0.05):
            for pid in list(self.start):
                ticks = self._ticks(pid)
                if ticks is not None:
                    self.last[pid] = ticks

    def __enter__(self):
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        self.start[pid] = self._ticks(pid) or 0
        connection_created.connect(self._note)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        connection_created.disconnect(self._note)
        for pid in self.start:
            ticks = self._ticks(pid)
            if ticks is not None:
                self.last[pid] = ticks
        if self.last:
            hz = os.sysconf("SC_CLK_TCK")
            self.seconds = sum(t - self.start[pid] for pid, t in self.last.items()) / hz


REPEATS = 3

INVOICE_SQL = """
INSERT INTO billing_invoice (
    tenant_id, organization_id, subscriber_id, bill_to_name, bill_to_address, bill_to_state,
    bill_to_tax_number, currency, created_by_id, created_at, number, fiscal_year, sequence,
    status, reason, issue_date, due_date, period_start, period_end, supplier_state,
    supplier_tax_number, is_interstate, taxable_total, tax_total, round_off, total, amount_paid,
    tax_breakdown, idempotency_key, late_fee_for_id, notes, issued_at, cancelled_at)
SELECT %(tenant)s, (%(orgs)s::bigint[])[1 + g %% 4], NULL, 'Customer ' || g, '', 'Maharashtra',
    '', 'INR', NULL, now(), %(prefix)s || lpad(g::text, 8, '0'), '2026-27', g,
    CASE WHEN g %% 10 = 0 THEN 'issued' ELSE 'paid' END, 'renewal',
    DATE '2026-04-01' + (g %% 240), DATE '2026-04-08' + (g %% 240), NULL, NULL,
    'Maharashtra', '27AABCS1234F1Z5', false, 500, 90, 0, 590,
    CASE WHEN g %% 10 = 0 THEN 0 ELSE 590 END, '[]'::jsonb, NULL, NULL, '',
    now(), NULL
FROM generate_series(%(start)s, %(stop)s) AS g
"""


def bench_invoice_list(count: int, tag: str) -> dict:
    tenant, _ = make_isp(tag, "inv")
    root = tenant.root
    dist = add_organization(root, name="Distributor", code="dist", kind="distributor")
    lco = add_organization(dist, name="LCO", code="lco", kind="lco")
    other = add_organization(root, name="Partner", code="pp", kind="lco")
    orgs = [root.pk, dist.pk, lco.pk, other.pk]
    prefix = f"B{tag[-6:]}/"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(1, count + 1, 500_000):
            cursor.execute(INVOICE_SQL, {"tenant": tenant.pk, "orgs": orgs, "prefix": prefix,
                                         "start": start, "stop": min(start + 499_999, count)})
        cursor.execute("ANALYZE billing_invoice")
    generate = time.perf_counter() - started
    print(f"invoices: {count:,} made in {generate:.0f} s", file=sys.stderr)

    admin = create_portal_user(username=f"bench-inv-admin-{tag}", password="x" * 16,
                               organization=root, kind=User.Kind.ISP_ADMIN)
    role = Role.objects.create(tenant=tenant, name="Billing agent")
    role.permissions.set(Permission.objects.filter(
        content_type__app_label="billing", codename__in=["view_invoice", "view_payment"]))
    partner = create_portal_user(username=f"bench-inv-lco-{tag}", password="x" * 16,
                                 organization=lco, kind=User.Kind.PARTNER, roles=[role])
    admin.is_superuser = True
    admin.save()
    number = f"{prefix}{count // 2:08d}"
    deep = max(min(200, count // 4 // 100 // 2), 2)  # a deep page the partner has too
    pages = {
        "first page": "",
        f"page {deep} (deep)": f"?p={deep}",
        "search by number": f"?q={number}",
        "filter status=issued": "?status__exact=issued",
    }
    host = f"inv-{tag}.bench.test"
    results = []
    for who, user in (("ISP admin", admin), ("partner (1 of 4 orgs)", partner)):
        client = Client(HTTP_HOST=host)
        client.force_login(user)
        for label, query in pages.items():
            timings = []
            for _ in range(REPEATS):
                reset_queries()
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(f"/admin/billing/invoice/{query}")
                    timings.append(time.perf_counter() - started)
                assert response.status_code == 200, (who, label, response.status_code)
            db = sum(float(q["time"]) for q in queries.captured_queries)
            results.append((who, label, statistics.median(timings), max(timings), db,
                            len(queries.captured_queries)))
    return {"count": count, "generate": generate, "pages": results}


def main(renew_count: int, invoice_count: int, workers: int = 1) -> None:
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    renew = bench_renewals(renew_count, tag, workers) if renew_count else None
    listing = bench_invoice_list(invoice_count, tag) if invoice_count else None
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    lines = [
        "## Billing", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work; load average {os.getloadavg()[0]:.1f} at the end), Python "
        f"{platform.python_version()}, PostgreSQL {pg}. `bench/billing.py`.", "",
    ]
    if renew:
        lines += [
            f"### Renewal run of {renew['count']:,} due subscribers", "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", "",
            "`renewals.renew_due` (the body of the `billing.renew_due` beat task) with "
            f"{renew['workers']} worker thread(s), each with its own connection: batches of "
            f"{renew['batch_size']:,} subscribers locked with SKIP LOCKED, wallets locked, one "
            "invoice each (tax worked out once per identical line, gap-free numbers in one "
            "counter step), then per batch: one UPDATE renews the subscribers "
            "(`subscribers.renew_many`, found by primary key; audit rows in one insert from "
            "arrays, one batched network event), one `plans_sold` event, invoices, lines, taxes, "
            "allocations and ledger entries written with COPY straight from row tuples (no "
            "model instances; identical lines share their values), one balance update. "
            "Checked afterwards: every subscriber renewed once, wallets equal the sum of their "
            "entries, numbers gap-free. The subscribers and wallets tables are analyzed after the "
            "bulk insert that makes the due subscribers, as autovacuum would have.", "",
            "| Step | Seconds (wall) | Subscribers/s (wall) | CPU seconds (bench process) "
            "| Subscribers/CPU-s |", "|---|---:|---:|---:|---:|",
            f"| first run | {renew['first']:.1f} | {renew['count'] / renew['first']:,.0f} "
            f"| {renew['cpu']:.1f} | {renew['count'] / max(renew['cpu'], 0.001):,.0f} |",
            f"| second run right after (renews 0) | {renew['second']:.2f} | - | - | - |",
            "",
            f"Load average (1 min) {renew['load'][0]:.1f} before the first run and "
            f"{renew['load'][1]:.1f} after it, on 2 cores shared with other work: the wall "
            "time includes waiting for a CPU; the CPU seconds are those of the benchmark "
            "process (the Django side, all workers)"
            + (f"; the PostgreSQL backends serving it used {renew['pg_cpu']:.1f} CPU seconds "
               f"more (from /proc), so the run needs about "
               f"{renew['cpu'] + renew['pg_cpu']:.0f} CPU seconds in all, "
               f"{(renew['cpu'] + renew['pg_cpu']) / 2:.0f} s on 2 idle cores if both were "
               "kept busy." if renew["pg_cpu"] is not None else
               "; PostgreSQL's are not included."),
            "",
            *([f"A batch of {renew['batch_size']:,} made {renew['queries']:.0f} queries (COPY "
               f"statements not counted) and {renew['db_share']:.0%} of the wall time was spent "
               "in them.", ""]
              if renew["queries"] is not None else []),
        ]
    if not renew and (earlier := earlier_renewal_run()):
        lines += [earlier, ""]  # a list-only run keeps the last renewal figures
    if not listing and (earlier := earlier_subsection("Invoice list ")):
        lines += [earlier, ""]  # a renewal-only run keeps the last invoice-list figures
    if listing:
        lines += [
            f"### Invoice list with {listing['count']:,} invoices", "",
            f"Generated in SQL in {listing['generate']:.0f} s. Server time of "
            "`/admin/billing/invoice/` through the full Django stack (middleware, scope, "
            f"unfold templates), median and worst of {REPEATS}, with the queries of one "
            "request.", "",
            "| User | Page | Median ms | Worst ms | of which SQL ms | Queries |",
            "|---|---|---:|---:|---:|---:|",
            *(f"| {who} | {label} | {median * 1000:.0f} | {worst * 1000:.0f} | {db * 1000:.0f} "
              f"| {queries} |" for who, label, median, worst, db, queries in listing["pages"]),
            "",
        ]
    section = "\n".join(lines).rstrip("\n") + "\n"
    write_section(section)
    print(section)


def earlier_renewal_run(path: Path = ROOT / "BENCHMARKS.md") -> str | None:
    """The renewal subsection of the Billing section now in BENCHMARKS.md, if any."""
    return earlier_subsection("Renewal run ", path)


def earlier_subsection(title: str, path: Path = ROOT / "BENCHMARKS.md") -> str | None:
    """The `### <title>...` subsection of the Billing section now in BENCHMARKS.md, if any."""
    text = path.read_text() if path.exists() else ""
    billing = re.search(r"^## Billing\n.*?(?=^## |\Z)", text, re.S | re.M)
    found = billing and re.search(rf"^### {re.escape(title)}.*?(?=^### |^## |\Z)",
                                  billing.group(0), re.S | re.M)
    return found.group(0).rstrip("\n") if found else None


def write_section(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this module's `## Billing` section of BENCHMARKS.md, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Billing\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 100_000, args[1] if len(args) > 1 else 5_000_000,
         args[2] if len(args) > 2 else renewals.WORKERS)
