"""Report pages and exports as each user reaches them: the catalog, a report, a file.

Exports are queued by the page and built here by calling the job's service directly (a worker
would run the same function once the request's transaction commits).
"""

import csv
import io

import pytest
from openpyxl import load_workbook

from modules.reports import registry, services
from modules.reports.models import Report
from tests.reports.conftest import NOT_OURS, page_leaks

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-07-01", "end": "2026-10-31"}
HOSTS = {"other_admin": "beta.test"}


def sign_in(client, shared, who):
    client.force_login(shared.user(who))
    client.defaults["HTTP_HOST"] = HOSTS.get(who, "testserver")
    return client


def export(client, key, file_format="csv", **filters) -> Report:
    before = Report.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = client.post(f"/reports/run/{key}/export",
                           {**RANGE, **filters, "file_format": file_format})
    assert response.status_code == 302, response.content[:300]
    job = Report.objects.filter(pk__gt=before).get()
    assert response["Location"] == f"/reports/exports/{job.pk}"
    return job


def download(client, job) -> bytes:
    response = client.get(f"/reports/exports/{job.pk}/download")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_catalog_lists_the_reports_by_group(shared, client):
    sign_in(client, shared, "isp_admin")
    response = client.get("/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    for group in registry.GROUPS:
        assert f'data-group="{group}"' in html
    assert "Tax by HSN/SAC" in html


def test_a_user_without_the_reports_permission_is_refused(shared, client):
    sign_in(client, shared, "no_perm")
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/run/collections-by-day").status_code == 403
    assert client.post("/reports/run/collections-by-day/export",
                       {**RANGE, "file_format": "csv"}).status_code == 403
    assert not Report.objects.exists()


def test_report_page_shows_the_table_and_chart_of_the_range(shared, client):
    sign_in(client, shared, "isp_admin")
    response = client.get("/reports/run/collections-by-day",
                          {"start": "2026-10-01", "end": "2026-10-15"})
    assert response.status_code == 200
    rows = response.context["table"]["rows"]
    assert rows == [["15 Oct 2026", "cash", "2", "700.00"], ["14 Oct 2026", "upi", "1", "300.00"],
                    ["03 Oct 2026", "upi", "1", "1,000.00"]]
    assert '"labels": ["03 Oct 2026", "14 Oct 2026", "15 Oct 2026"]' in response.context["chart"]


def test_report_pages_step_through_rows_without_counting_them(shared, client, monkeypatch):
    from modules.reports import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    sign_in(client, shared, "isp_admin")
    day = "/reports/run/collections-by-day"
    first = client.get(day, {"start": "2026-10-01", "end": "2026-10-15"})
    assert [r[0] for r in first.context["table"]["rows"]] == ["15 Oct 2026", "14 Oct 2026"]
    assert "rows 1\u20132, more on the next page" in first.content.decode()
    assert "page=2" in first.content.decode()
    second = client.get(day, {"start": "2026-10-01", "end": "2026-10-15", "page": "2"})
    assert second.context["table"]["rows"] == [["03 Oct 2026", "upi", "1", "1,000.00"]]
    assert second.context["page"].has_previous and not second.context["page"].has_next
    past = client.get(day, {"start": "2026-10-01", "end": "2026-10-15", "page": "9"})
    assert past.context["page"].number == 1


def test_a_range_that_ends_before_it_starts_is_refused_on_screen(shared, client):
    sign_in(client, shared, "isp_admin")
    response = client.get("/reports/run/collections-by-day",
                          {"start": "2026-10-15", "end": "2026-10-01"})
    assert response.status_code == 200
    assert response.context["table"] is None
    assert "on or before the end day" in response.content.decode()


@pytest.mark.parametrize("key", sorted(registry.installed()))
def test_every_report_first_page_takes_a_fixed_number_of_queries(
        shared, client, key, django_assert_max_num_queries):
    sign_in(client, shared, "isp_admin")
    with django_assert_max_num_queries(25):
        response = client.get(f"/reports/run/{key}", RANGE)
    assert response.status_code == 200
    assert response.context["table"] is not None


def test_partner_exports_a_csv_of_its_own_collections(shared, client):
    sign_in(client, shared, "partner")
    job = export(client, "collections-by-day")
    assert (job.status, job.requested_by, job.organization) == (
        "queued", shared.user("partner"), shared.world.orgs["partner"])
    status = client.get(f"/reports/exports/{job.pk}")
    assert 'data-status="queued"' in status.content.decode()
    assert client.get(f"/reports/exports/{job.pk}/download").status_code == 404  # not ready

    services.build_export(job.pk)

    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done) == ("done", 1, 1)
    assert 'data-status="done"' in client.get(f"/reports/exports/{job.pk}").content.decode()
    assert csv_rows(download(client, job)) == [["Day", "Mode", "Payments", "Amount"],
                                               ["2026-10-03", "upi", "1", "1000.00"]]


def test_an_export_job_runs_once(shared, client):
    sign_in(client, shared, "isp_admin")
    job = export(client, "invoices")
    assert services.build_export(job.pk).status == "done"
    assert services.build_export(job.pk) is None  # a duplicate delivery finds it done


def test_isp_admin_exports_the_gst_summary_as_xlsx(shared, client):
    sign_in(client, shared, "isp_admin")
    job = export(client, "tax-by-hsn", "xlsx")
    services.build_export(job.pk)
    sheet = load_workbook(io.BytesIO(download(client, job))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["HSN/SAC", "Rate %", "Invoices", "Taxable value", "CGST", "SGST",
                       "IGST", "Total tax"]
    assert [[r[0], r[2], float(r[3]), float(r[6]), float(r[7])] for r in rows[1:]] == [
        ["995461", 1, 100.0, 0.0, 18.0], ["998422", 4, 2000.0, 144.0, 360.0]]


def test_organization_filter_narrows_an_export(shared, client):
    sign_in(client, shared, "isp_admin")
    job = export(client, "collections-by-day", organization=shared.world.orgs["lco1"].pk)
    services.build_export(job.pk)
    assert csv_rows(download(client, job))[1:] == [["2026-10-15", "cash", "1", "200.00"]]


def test_an_organization_outside_the_scope_is_refused_and_nothing_is_queued(shared, client):
    sign_in(client, shared, "partner")
    response = client.post("/reports/run/collections-by-day/export",
                           {**RANGE, "organization": shared.world.orgs["lco1"].pk,
                            "file_format": "csv"})
    assert response.status_code == 302
    assert response["Location"] == "/reports/run/collections-by-day"
    assert not Report.objects.exists()


def test_a_requester_who_lost_the_permission_gets_a_failed_job(shared, client):
    from django.contrib.auth.models import Permission

    sign_in(client, shared, "partner")
    job = export(client, "invoices")
    role = shared.world.all_role
    role.permissions.remove(Permission.objects.get(codename="view_invoice"))
    try:
        services.build_export(job.pk)
    finally:
        role.permissions.add(Permission.objects.get(codename="view_invoice"))
    job.refresh_from_db()
    assert job.status == "failed" and not job.file
    assert "may no longer run" in job.error


def test_text_cells_are_neutralised_against_formula_injection(shared, client):
    from modules.subscribers.models import Subscriber

    Subscriber.objects.filter(pk=shared.subs["r1"].pk).update(name="=HYPERLINK(\"x\")")
    sign_in(client, shared, "isp_admin")
    job = export(client, "renewals-due", start="2026-10-15", end="2026-10-22")
    services.build_export(job.pk)
    names = [row[1] for row in csv_rows(download(client, job))[1:]]
    assert "'=HYPERLINK(\"x\")" in names


# Scope crawl: every report page and export, walked as each world user ------------------------
USERS = ["isp_admin", "dist", "lco1", "partner", "no_perm", "other_admin"]


@pytest.mark.parametrize("who", USERS)
def test_scope_crawl_of_report_pages(shared, client, who):
    sign_in(client, shared, who)
    keys = sorted(registry.installed())
    for key in keys:
        response = client.get(f"/reports/run/{key}", RANGE)
        if who == "no_perm":
            assert response.status_code == 403, key
            continue
        assert response.status_code == 200, (who, key)
        assert page_leaks(response.content.decode(), NOT_OURS[who]) == [], (who, key)


@pytest.mark.parametrize("who", ["dist", "partner", "other_admin"])
def test_scope_crawl_of_exports(shared, client, who):
    """Every report exported by a node user holds only its subtree; nobody else can open it."""
    sign_in(client, shared, who)
    jobs = [export(client, key) for key in sorted(registry.installed())]
    for job in jobs:
        assert services.build_export(job.pk).status == "done", (job.report_key, job.error)
        body = download(client, job).decode()
        assert page_leaks(body, NOT_OURS[who]) == [], (who, job.report_key)
    for stranger in ("isp_admin", "lco1", "no_perm"):
        sign_in(client, shared, stranger)
        for job in jobs[:3]:
            assert client.get(f"/reports/exports/{job.pk}").status_code in (403, 404)
            assert client.get(f"/reports/exports/{job.pk}/download").status_code in (403, 404)
