"""The plan catalog pages: scoped list, RADIUS preview, import and export of plans."""

from decimal import Decimal

import pytest
import tablib
from django.urls import reverse

from modules.plans.models import Plan, TaxClass
from modules.plans.resources import PlanResource
from tests.plans.samples import make_plan

HEADERS = ["code", "name", "plan_type", "price", "tax_class", "validity_unit", "validity_value",
           "download_kbps", "upload_kbps", "quota_mb", "fup_action", "fup_download_kbps",
           "fup_upload_kbps", "organization"]


def plan_row(code, **values):
    base = {"code": code, "name": f"Plan {code}", "plan_type": "broadband", "price": "599.00",
            "tax_class": "", "validity_unit": "days", "validity_value": "30",
            "download_kbps": "100000", "upload_kbps": "50000", "quota_mb": "",
            "fup_action": "throttle", "fup_download_kbps": "", "fup_upload_kbps": "",
            "organization": ""}
    base.update(values)
    return [base[h] for h in HEADERS]


def run_import(user, rows, headers=HEADERS, dry_run=False):
    data = tablib.Dataset(headers=headers)
    for values in rows:
        data.append(values)
    return PlanResource(user=user).import_data(
        data, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True)


def test_plans_index_is_the_catalog(client, world):
    client.force_login(world.users["isp_admin"])
    response = client.get("/plans/index", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith(reverse("admin:plans_plan_changelist"))


def test_a_partner_sees_only_the_plans_of_its_subtree(client, world):
    make_plan(world.orgs["root"], name="ISP Gold")
    make_plan(world.orgs["lco1"], name="LCO One Home")
    make_plan(world.orgs["lco2"], name="LCO Two Home")
    client.force_login(world.users["lco1"])
    page = client.get(reverse("admin:plans_plan_changelist")).content
    assert b"LCO One Home" in page
    assert b"LCO Two Home" not in page and b"ISP Gold" not in page


def test_the_change_page_previews_the_reply_attributes_per_vendor(client, world):
    plan = make_plan(world.orgs["root"], download_kbps=100_000, upload_kbps=50_000,
                     ip_pool_name="pool-ftth")
    client.force_login(world.users["isp_admin"])
    page = client.get(reverse("admin:plans_plan_change", args=[plan.pk])).content.decode()
    assert "Mikrotik-Rate-Limit = 50M/100M" in page
    assert "Huawei-Output-Average-Rate = 100000000" in page
    assert "Framed-Pool = pool-ftth" in page


def test_another_tenants_plan_is_not_found(client, world):
    other = make_plan(world.orgs["other_root"])
    client.force_login(world.users["isp_admin"])
    assert client.get(reverse("admin:plans_plan_change", args=[other.pk])).status_code in (
        302, 404)
    assert client.post(reverse("admin:plans_plan_delete", args=[other.pk]),
                       {"post": "yes"}).status_code in (302, 404)
    assert Plan.objects.filter(pk=other.pk).exists()


def test_plan_import_creates_then_updates_by_code(world):
    TaxClass.objects.create(tenant=world.tenant, name="GST 18", rate=Decimal("18"))
    user = world.users["isp_admin"]
    result = run_import(user, [plan_row("fiber-100", tax_class="GST 18"),
                               plan_row("fup-50", quota_mb="102400", fup_download_kbps="2000",
                                        fup_upload_kbps="1000")])
    assert not result.has_errors() and not result.has_validation_errors()
    fiber = Plan.objects.get(code="fiber-100")
    assert (fiber.organization, fiber.tax_class.name, fiber.price) == (
        world.orgs["root"], "GST 18", Decimal("599.00"))
    run_import(user, [plan_row("fiber-100", price="649.00", tax_class="GST 18")])
    assert Plan.objects.get(code="fiber-100").price == Decimal("649.00")
    assert Plan.objects.filter(code="fiber-100").count() == 1


def test_plan_import_reports_bad_rows_and_imports_nothing(world):
    result = run_import(world.users["isp_admin"], [
        plan_row("good"),
        plan_row("fixed-31", validity_unit="fixed_day", validity_value="31"),
        plan_row("fup-no-speed", quota_mb="1000"),
        plan_row("taxed", tax_class="No such tax"),
    ])
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {2, 3, 4}
    assert "validity_value" in errors[2]
    assert "fup_download_kbps" in errors[3]
    assert "tax_class" in errors[4]
    assert not Plan.objects.filter(code="good").exists()


def test_plan_import_refuses_wrong_headers(world):
    result = run_import(world.users["isp_admin"], [["x", "y"]], headers=["code", "colour"])
    assert result.has_errors()
    assert "missing: name, price" in str(result.base_errors[0].error)
    assert "unknown: colour" in str(result.base_errors[0].error)


def test_a_partner_imports_plans_only_into_its_own_subtree(world):
    user = world.users["lco1"]
    result = run_import(user, [plan_row("mine"), plan_row("theirs", organization="lco2")])
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {2} and "organization" in errors[2]
    assert not Plan.objects.filter(code__in=["mine", "theirs"]).exists()
    assert not run_import(user, [plan_row("mine")]).has_validation_errors()
    assert Plan.objects.get(code="mine").organization == world.orgs["lco1"]


def test_plan_export_neutralises_formula_cells(world):
    make_plan(world.orgs["root"], code="evil", name="=cmd|' /C calc'!A0")
    exported = PlanResource(user=world.users["isp_admin"]).export(
        Plan.objects.filter(code="evil"))
    assert exported.dict[0]["name"] == "'=cmd|' /C calc'!A0"
    assert exported.dict[0]["organization"] == world.orgs["root"].code


@pytest.mark.parametrize("view", ["import", "export"])
def test_plan_import_and_export_need_their_permissions(view, client, world):
    from django.contrib.auth.models import Permission

    world.empty_role.permissions.set(Permission.objects.filter(
        content_type__app_label="plans", codename__in=["view_plan", "change_plan", "add_plan"]))
    client.force_login(world.users["no_perm"])
    assert client.get(reverse(f"admin:plans_plan_{view}")).status_code == 403
