"""Bulk import of subscribers: per-row, per-column errors; all or nothing; scoped to the user."""

import io

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from modules.subscribers.admin import SubscriberAdmin
from modules.subscribers.models import StatusChange, Subscriber
from modules.subscribers.resources import TEMPLATE_HEADERS, SubscriberResource
from tests.plans.samples import make_plan
from tests.subscribers.samples import make_subscriber

HEADERS = ["username", "password", "name", "mobile", "email", "mac_address", "static_ipv4",
           "plan", "organization"]


def row(username, **values):
    base = {"username": username, "password": "Pass-1234", "name": f"Name of {username}",
            "mobile": "98220 12345", "email": f"{username}@example.com", "mac_address": "",
            "static_ipv4": "", "plan": "fiber-100", "organization": ""}
    base.update(values)
    return [base[h] for h in HEADERS]


def dataset(rows, headers=HEADERS):
    data = tablib.Dataset(headers=headers)
    for values in rows:
        data.append(values)
    return data


def run_import(user, data, *, dry_run=False):
    return SubscriberResource(user=user).import_data(
        data, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True,
        raise_errors=False)


def row_errors(result) -> dict[int, dict[str, list[str]]]:
    """{row number (1-based): {column: [messages]}} of a finished import."""
    return {invalid.number: invalid.error_dict for invalid in result.invalid_rows}


def test_a_clean_file_imports_every_row_normalised_with_encrypted_passwords(world, plan):
    user = world.users["lco1"]
    data = dataset([row("asha.k", mac_address="aa-bb-cc-dd-ee-ff", static_ipv4="10.1.2.3"),
                    row("ravi.p", mobile="+91 98220 54321", organization="lco1")])
    preview = run_import(user, data, dry_run=True)
    assert not preview.has_errors() and not preview.has_validation_errors()
    assert preview.totals["new"] == 2
    assert not Subscriber.objects.filter(username__in=["asha.k", "ravi.p"]).exists()

    result = run_import(user, data)
    assert not result.has_errors() and not result.has_validation_errors()
    asha = Subscriber.objects.get(username="asha.k")
    assert (asha.organization, asha.plan, asha.status) == (world.orgs["lco1"], plan, "new")
    assert (asha.mobile, asha.mac_address, asha.static_ipv4) == (
        "+919822012345", "AA:BB:CC:DD:EE:FF", "10.1.2.3")
    assert asha.get_password() == "Pass-1234" and "Pass-1234" not in asha.password_encrypted
    assert StatusChange.objects.filter(subscriber=asha, action="import",
                                       actor=user).exists()


def test_wrong_headers_are_refused_before_any_row(world, plan):
    data = dataset([["x", "y"]], headers=["login", "name"])
    result = run_import(world.users["isp_admin"], data)
    assert result.has_errors()
    message = str(result.base_errors[0].error)
    assert "missing column(s): password, username" in message
    assert "unknown column(s): login" in message
    assert Subscriber.objects.count() == 0


def test_duplicates_in_the_file_and_against_the_database_are_row_errors_and_nothing_lands(
        world, plan):
    make_subscriber(world.orgs["root"], username="taken")
    data = dataset([row("fresh"), row("twice"), row("twice"), row("taken")])
    result = run_import(world.users["isp_admin"], data)
    errors = row_errors(result)
    assert set(errors) == {3, 4}
    assert "appears twice" in errors[3]["username"][0]
    assert "already exists" in errors[4]["username"][0]
    assert not Subscriber.objects.filter(username__in=["fresh", "twice"]).exists()


def test_every_bad_column_of_a_row_is_reported_at_once(world, plan):
    data = dataset([row("bad.one", mobile="12", email="not-an-email", mac_address="zz:zz",
                        static_ipv4="300.1.1.1", plan="no-such-plan"),
                    row("", password="", name="")])
    errors = row_errors(run_import(world.users["isp_admin"], data, dry_run=True))
    assert set(errors[1]) == {"mobile", "email", "mac_address", "static_ipv4", "plan"}
    assert "not a MAC address" in errors[1]["mac_address"][0]
    assert "not an IPv4 address" in errors[1]["static_ipv4"][0]
    assert "“no-such-plan” is not a broadband plan" in errors[1]["plan"][0]
    assert {"username", "password", "name"} <= set(errors[2])


def test_a_nul_character_is_a_cell_error_in_the_preview_and_nothing_lands(world, plan):
    data = dataset([row("clean.one"), row("nul.one", name="Asha\x00K")])
    preview = row_errors(run_import(world.users["isp_admin"], data, dry_run=True))
    assert preview == {2: {"name": ["This cell holds a NUL character, which cannot be stored."]}}
    result = run_import(world.users["isp_admin"], data)
    assert row_errors(result) == preview
    assert not Subscriber.objects.filter(username__in=["clean.one", "nul.one"]).exists()


def test_a_partner_may_only_use_plans_available_to_it_and_its_own_subtree(world, plan):
    make_plan(world.orgs["lco2"], code="lco2-special")
    make_plan(world.orgs["lco1"], code="lco1-home")
    user = world.users["lco1"]
    data = dataset([row("ok.one", plan="lco1-home"), row("ok.two", plan="fiber-100"),
                    row("sibling.plan", plan="lco2-special"),
                    row("foreign.org", organization="lco2"),
                    row("parent.org", organization="dist")])
    errors = row_errors(run_import(user, data))
    assert set(errors) == {3, 4, 5}
    assert "not a broadband plan you may sell" in errors[3]["plan"][0]
    assert "not an organization you may add subscribers to" in errors[4]["organization"][0]
    assert "organization" in errors[5]
    assert Subscriber.objects.count() == 0


def test_a_plan_of_a_subtree_is_refused_for_a_row_owned_above_it(world, plan):
    make_plan(world.orgs["lco1"], code="lco1-home")
    data = dataset([row("up.there", plan="lco1-home", organization="dist")])
    errors = row_errors(run_import(world.users["dist"], data))
    assert "not available to" in errors[1]["plan"][0]


def test_running_customers_can_be_migrated_with_their_expiry(world, plan):
    headers = ["username", "password", "name", "plan", "status", "expires_at"]
    data = dataset([["moved.in", "Pass-1234", "Moved In", "fiber-100", "active", "2030-01-31"],
                    ["no.expiry", "Pass-1234", "No Expiry", "fiber-100", "active", ""],
                    ["bad.status", "Pass-1234", "Bad", "fiber-100", "terminated", ""],
                    ["bad.date", "Pass-1234", "Bad", "fiber-100", "active", "31/01/2030"]],
                   headers=headers)
    errors = row_errors(run_import(world.users["isp_admin"], data, dry_run=True))
    assert set(errors) == {2, 3, 4}
    assert "needs expires_at" in errors[2]["expires_at"][0]
    assert "Use one of" in errors[3]["status"][0]
    assert "2026-12-31" in errors[4]["expires_at"][0]
    good = dataset([data[0]], headers=headers)
    assert not run_import(world.users["isp_admin"], good).has_validation_errors()
    moved = Subscriber.objects.get(username="moved.in")
    assert moved.status == "active" and moved.expires_at.year == 2030


def test_formula_cells_exported_by_us_import_back_unchanged(world, plan):
    data = dataset([row("formula.name", name="'=HYPERLINK(\"x\")")])
    assert not run_import(world.users["isp_admin"], data).has_validation_errors()
    assert Subscriber.objects.get(username="formula.name").name == '=HYPERLINK("x")'


# Through the admin pages ---------------------------------------------------------------------
def _formats():
    names = [f().get_title() for f in SubscriberAdmin.get_import_formats(
        SubscriberAdmin(Subscriber, None))]
    return {name.lower(): str(index) for index, name in enumerate(names)}


def _csv(rows, headers=HEADERS) -> bytes:
    return dataset(rows, headers).export("csv").encode()


def _upload(client, content, name="subscribers.csv", kind="csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("admin:subscribers_subscriber_import"),
                       {"import_file": upload, "format": _formats()[kind],
                        "resource": "0"})


def test_admin_preview_then_confirm_imports_the_file(client, world, plan):
    client.force_login(world.users["lco1"])
    preview = _upload(client, _csv([row("web.one"), row("web.two")]))
    assert preview.status_code == 200
    assert b"web.one" in preview.content and b"Pass-1234" not in preview.content
    assert not Subscriber.objects.filter(username="web.one").exists()
    confirm = preview.context["confirm_form"].initial
    done = client.post(reverse("admin:subscribers_subscriber_process_import"), confirm)
    assert done.status_code == 302
    assert set(Subscriber.objects.values_list("username", flat=True)) == {"web.one", "web.two"}
    assert set(Subscriber.objects.values_list("organization__code", flat=True)) == {"lco1"}


def test_admin_preview_shows_row_errors_and_offers_no_confirm(client, world, plan):
    client.force_login(world.users["isp_admin"])
    preview = _upload(client, _csv([row("good.row"), row("bad.row", email="nope")]))
    assert preview.status_code == 200
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    assert b"Enter a valid email address" in preview.content
    assert Subscriber.objects.count() == 0


def test_admin_xlsx_import_is_accepted(client, world, plan):
    client.force_login(world.users["isp_admin"])
    content = dataset([row("sheet.one")]).export("xlsx")
    upload = SimpleUploadedFile("subscribers.xlsx", content)
    preview = client.post(reverse("admin:subscribers_subscriber_import"),
                          {"import_file": upload, "format": _formats()["xlsx"]})
    assert preview.status_code == 200 and b"sheet.one" in preview.content
    client.post(reverse("admin:subscribers_subscriber_process_import"),
                preview.context["confirm_form"].initial)
    assert Subscriber.objects.filter(username="sheet.one").exists()


def test_an_empty_file_is_refused_with_a_clear_message(client, world, plan):
    client.force_login(world.users["isp_admin"])
    empty = _upload(client, b"")
    assert empty.status_code == 200
    assert b"No valid data to import" in empty.content or b"empty" in empty.content.lower()
    headers_only = _upload(client, _csv([]))
    assert b"No valid data to import" in headers_only.content
    assert Subscriber.objects.count() == 0


def test_a_50_mb_file_is_refused_without_reading_a_row(client, world, plan):
    client.force_login(world.users["isp_admin"])
    line = ",".join(row("x")).encode() + b"\n"
    body = io.BytesIO()
    body.write(",".join(HEADERS).encode() + b"\n")
    while body.tell() < 50 * 1024 * 1024:
        body.write(line)
    response = _upload(client, body.getvalue())
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b"the limit is 20 MB" in page.content
    assert Subscriber.objects.count() == 0


def test_import_and_export_need_their_own_permissions(client, world, running_role):
    running_role(["view_subscriber", "add_subscriber", "change_subscriber"])
    client.force_login(world.users["no_perm"])
    assert client.get(reverse("admin:subscribers_subscriber_import")).status_code == 403
    assert client.get(reverse("admin:subscribers_subscriber_export")).status_code == 403
    assert client.get(reverse("admin:subscribers_subscriber_changelist") + "export_csv/"
                      ).status_code == 403
    running_role(["view_subscriber", "import_subscriber", "export_subscriber"])
    assert client.get(reverse("admin:subscribers_subscriber_import")).status_code == 200
    assert client.get(reverse("admin:subscribers_subscriber_changelist") + "export_csv/"
                      ).status_code == 200


def test_the_template_lists_the_documented_columns(client, world):
    client.force_login(world.users["isp_admin"])
    url = reverse("admin:subscribers_subscriber_changelist") + "download_template/"
    csv_text = client.get(url).content.decode()
    assert csv_text.splitlines()[0] == ",".join(TEMPLATE_HEADERS)
    sheet = client.get(url + "?format=xlsx")
    assert sheet["Content-Type"].startswith("application/vnd.openxmlformats")
    assert tablib.Dataset().load(sheet.content, format="xlsx").headers == TEMPLATE_HEADERS


@pytest.fixture
def running_role(world):
    def grant(codenames):
        world.empty_role.permissions.set(Permission.objects.filter(
            content_type__app_label="subscribers", codename__in=codenames))

    return grant


# Streaming the rows of a confirmed import ---------------------------------------------------
def test_rows_stream_across_a_lookup_made_midway(world, plan, monkeypatch):
    """An organization's plans not read up front are read between two COPYs; nothing is lost."""
    original = SubscriberResource.before_import

    def forgetful(self, data, **kwargs):
        original(self, data, **kwargs)
        self.available.clear()

    monkeypatch.setattr(SubscriberResource, "before_import", forgetful)
    rows = [row(f"bulk{i}", organization="lco1" if i < 600 else "lco2") for i in range(1200)]
    result = run_import(world.users["dist"], dataset(rows))
    assert not result.has_errors() and not result.has_validation_errors()
    imported = Subscriber.objects.filter(username__startswith="bulk")
    assert imported.count() == 1200
    assert imported.filter(organization=world.orgs["lco2"]).count() == 600
    assert StatusChange.objects.filter(subscriber__in=imported, action="import").count() == 1200
    assert imported.get(username="bulk1199").get_password() == "Pass-1234"


def test_a_row_refused_by_the_database_rolls_back_the_whole_import(world, plan, monkeypatch):
    """A subscriber added after the duplicate check (another import, at the same moment): the
    COPY fails, the import reports it and keeps nothing."""
    original = SubscriberResource.before_import

    def racing(self, data, **kwargs):
        original(self, data, **kwargs)
        make_subscriber(world.orgs["lco1"], username="late.one")

    monkeypatch.setattr(SubscriberResource, "before_import", racing)
    result = run_import(world.users["lco1"], dataset([row("early.one"), row("late.one"),
                                                      row("after.one")]))
    assert result.has_errors()
    assert "late.one" in str(result.base_errors[0].error)
    assert not Subscriber.objects.filter(
        username__in=["early.one", "late.one", "after.one"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_import_tells_the_radius_servers_of_every_new_subscriber():
    import psycopg
    from django.db import connection

    from modules.core.models import User
    from modules.core.services import create_portal_user, create_tenant

    tenant = create_tenant(name="Notify Net", slug="notify-net")
    make_plan(tenant.root, code="fiber-100", name="Fiber 100")
    user = create_portal_user(username="notify-admin", password="x" * 20,
                              organization=tenant.root, kind=User.Kind.ISP_ADMIN, roles=[])
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as listener:
        listener.execute("LISTEN radius_config")
        result = run_import(user, dataset([row(f"heard{i}") for i in range(700)]))
        assert not result.has_errors() and not result.has_validation_errors()
        heard = set()
        for notice in listener.notifies(timeout=2):
            if notice.payload.startswith("subscriber:"):
                heard.update(int(pk) for pk in notice.payload.split(":", 1)[1].split(","))
    imported = set(Subscriber.objects.filter(tenant=tenant).values_list("pk", flat=True))
    assert len(imported) == 700 and heard == imported
