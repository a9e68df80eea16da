"""The operator's journey, end to end in a real browser (DESIGN.md §1, the acceptance story).

An ISP admin of Alpha Broadband sets the portal up in the documented order, then works a day:
dashboard, the daily subscriber lists, a new subscriber who pays, logs in over RADIUS (Debian's
radclient against `manage.py radius_server`) and opens a ticket, and a report export. Then a
partner user and an employee sign in and see only their own menus and subtrees.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from config.celery import app as celery_app
from modules.billing import ledger
from modules.billing.models import BillingSettings, Invoice, Payment
from modules.core.models import Organization, Role, User
from modules.networking.models import Ipv4Pool, NasDevice
from modules.plans.models import Plan
from modules.settings_hub.models import GeneralSettings
from modules.subscribers.models import Subscriber
from modules.support import services as support
from modules.support.models import Ticket
from tests.e2e import ui
from tests.radius.client import access_request, exchange, radclient
from tests.radius.test_command import _free_port_pair
from tests.world import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
RADIUS_SECRET = "testing123"  # the secret tests/radius/client.py signs with
SUBSCRIBER_PASSWORD = "Fibre-Home-42"


@pytest.fixture
def tasks_inline(settings):
    """Background work (report exports, CoA) runs inside the request, as a worker would."""
    settings.RADIUS_COA_TIMEOUT = 0.3
    settings.RADIUS_COA_ATTEMPTS = 1
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


class RadiusProcess:
    """`manage.py radius_server` on free ports of 127.0.0.1, against the test database."""

    def __init__(self):
        self.port = _free_port_pair()
        db = connection.settings_dict
        env = dict(os.environ, CELERY_TASK_ALWAYS_EAGER="0",
                   DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
        ui.ARTIFACTS_DIR.mkdir(exist_ok=True)
        self.log = ui.ARTIFACTS_DIR / "journey-radius-server.log"
        with self.log.open("w") as log:  # a file, not a pipe: a full pipe would stall it
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "radius_server", "--auth", f"127.0.0.1:{self.port}",
                 "--acct", f"127.0.0.1:{self.port + 1}", "--processes", "1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()[-2000:]

    def wait_until_answering(self) -> None:
        """The server answers once it has loaded its NAS table (a reject will do)."""
        for _ in range(120):
            assert self.process.poll() is None, self.output()
            if exchange(access_request("readiness-probe", password="probe"), self.port,
                        timeout=0.5) is not None:
                return
        raise AssertionError(f"the RADIUS server never answered: {self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def radius_process():
    holder = {}
    yield holder
    if "server" in holder:
        holder["server"].stop()


# First setup, in the order of DESIGN.md ------------------------------------------------------
def general_settings(page, base, shot):
    ui.open_settings_section(page, base, "General")
    page.fill("#id_company_name", "Alpha Broadband Pvt Ltd")
    page.fill("#id_timezone", "Mars/Olympus")  # a typo is refused with a clear message
    page.fill("#id_currency", "INR")
    page.fill("#id_support_phone", "+91 20 4000 1234")
    page.fill("#id_support_email", "care@alpha-broadband.test")
    page.click("button[name=_save]")
    expect(page.locator("body")).to_contain_text("is not a known time zone")
    assert not GeneralSettings.objects.filter(company_name="Alpha Broadband Pvt Ltd").exists()
    page.fill("#id_timezone", "Asia/Kolkata")
    ui.save(page)
    shot("01-general-settings")
    general = GeneralSettings.objects.get()
    assert (general.company_name, general.timezone, general.currency) == (
        "Alpha Broadband Pvt Ltd", "Asia/Kolkata", "INR")
    assert general.support_email == "care@alpha-broadband.test"


def billing_engine(page, base, shot):
    ui.open_settings_section(page, base, "Billing Engine")
    page.select_option("#id_invoice_mode", "prepaid")
    page.fill("#id_invoice_prefix", "ALB")
    page.fill("#id_due_days", "10")
    page.select_option("#id_tax_scheme", "gst")
    page.check("#id_prices_include_tax")  # plan prices are what the customer pays
    page.check("#id_auto_apply_wallet")
    page.fill("#id_grace_days", "2")
    ui.save(page)
    shot("02-billing-engine")
    engine = BillingSettings.objects.get()
    assert (engine.invoice_prefix, engine.due_days, engine.grace_days) == ("ALB", 10, 2)


def subscriber_portal(page, base, shot) -> bool:
    """Settings -> Subscriber Portal, where this build has it."""
    page.goto(f"{base}/settings/index")
    if page.locator('[data-section="Subscriber Portal"]').count() == 0:
        return False
    ui.open_settings_section(page, base, "Subscriber Portal")
    page.check("#id_allow_ticket_creation")
    page.fill("#id_portal_title", "Alpha Broadband self-care")
    ui.save(page)
    shot("03-subscriber-portal")
    from modules.selfcare.models import PortalSettings

    portal = PortalSettings.objects.get()
    assert portal.allow_ticket_creation and portal.portal_title == "Alpha Broadband self-care"
    return True


def broadband_plan(page, base, shot):
    page.goto(f"{base}/admin/plans/plan/add/")
    page.select_option("#id_organization", label="Alpha Broadband")
    page.select_option("#id_plan_type", "broadband")
    page.fill("#id_code", "home-50")
    page.fill("#id_name", "Home 50")
    page.fill("#id_price", "590.00")
    page.fill("#id_validity_value", "30")
    ui.open_tab(page, "Speed")
    page.fill("#id_download_kbps", "50000")
    page.fill("#id_upload_kbps", "20000")
    page.fill("#id_ip_pool_name", "pppoe-main")
    ui.save(page)
    shot("04-plan")
    plan = Plan.objects.get(code="home-50")
    assert (plan.price, plan.download_kbps, plan.ip_pool_name) == (
        Decimal("590.00"), 50000, "pppoe-main")


def nas_device(page, base, shot):
    page.goto(f"{base}/admin/networking/nasdevice/add/")
    page.fill("#id_name", "Baner BRAS")
    page.select_option("#id_organization", label="Alpha Broadband")
    page.fill("#id_address", "127.0.0.1")
    page.fill("#id_secret", RADIUS_SECRET)
    page.select_option("#id_vendor", "mikrotik")
    ui.save(page)
    shot("05-nas")
    assert NasDevice.objects.get(name="Baner BRAS").address == "127.0.0.1"


def ipv4_pool(page, base, shot):
    page.goto(f"{base}/admin/networking/ipv4pool/add/")
    page.fill("#id_name", "pppoe-main")
    page.select_option("#id_organization", label="Alpha Broadband")
    page.fill("#id_ranges", "100.64.10.0/28")
    page.fill("#id_exclusions", "100.64.10.1")
    ui.save(page)
    shot("06-ipv4-pool")
    pool = Ipv4Pool.objects.get(name="pppoe-main")
    assert pool.leases.count() == 13  # 14 hosts of the /28 minus the gateway


def role(page, base, shot, name: str, permissions: list[tuple[str, str]]):
    """Settings -> Roles and permissions: a named set of ticked permissions."""
    page.goto(f"{base}/admin/core/role/add/")
    page.fill("#id_name", name)
    page.fill("#id_description", f"{name}: created during first setup.")
    for app_label, codename in permissions:
        page.get_by_label(permission_label(app_label, codename), exact=True).check()
    ui.save(page)
    shot(f"07-role-{name.lower().replace(' ', '-')}")
    assert Role.objects.get(name=name).permissions.count() == len(permissions)


def permission_label(app_label: str, codename: str) -> str:
    from django.contrib.auth.models import Permission

    from modules.core.permissions import operator_name

    perm = Permission.objects.select_related("content_type").get(
        content_type__app_label=app_label, codename=codename)
    return f"{operator_name(perm)} — {perm.name}"


def portal_user(page, base, shot, username: str, kind: str, organization: str, role_name: str):
    """Settings -> Staff users -> Add: sign-in, kind, home organization and role."""
    page.goto(f"{base}/admin/core/user/add/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.select_option("#id_kind", kind)
    page.select_option("#id_organization", label=organization)
    page.select_option("#id_roles", label=role_name)
    page.fill("#id_email", f"{username}@alpha-broadband.test")
    ui.save(page)
    shot(f"08-user-{username}")
    user = User.objects.get(username=username)
    assert (user.kind, user.organization.name, user.is_staff) == (kind, organization, True)
    assert list(user.roles.values_list("name", flat=True)) == [role_name]


def wallet_balance(organization: Organization) -> Decimal:
    from modules.billing.models import Wallet

    return Wallet.objects.get(owner_organization=organization).balance


def partner_organization(page, base, shot, root) -> Organization:
    """The partner node under the ISP (Partners -> Organization tree)."""
    page.goto(f"{base}/admin/core/organization/add/")
    page.select_option("#id_parent", label="Alpha Broadband")
    page.fill("#id_name", "Hill View Cable")
    page.fill("#id_code", "hillview")
    page.select_option("#id_kind", "lco")
    ui.save(page)
    shot("09-partner-organization")
    hill = Organization.objects.get(code="hillview")
    assert hill.depth == 2 and hill.path.startswith(root.path) and hill.is_partner
    return hill


def partner_pages_exist() -> bool:
    from django.apps import apps
    from django.contrib import admin

    try:
        return admin.site.is_registered(apps.get_model("partners", "Partner"))
    except LookupError:
        return False


def partner_with_wallet_and_plan(page, base, shot) -> Organization:
    """Partners -> Add, then Recharge on its wallet and a share of the ISP's plan."""
    from modules.partners.models import PlanShare

    page.goto(f"{base}/admin/partners/partner/add/")
    page.select_option("#id_parent", label="Alpha Broadband")
    page.fill("#id_name", "Hill View Cable")
    page.fill("#id_code", "hillview")
    page.select_option("#id_partner_type", "lco")
    page.fill("#id_contact_name", "Sunil Patil")
    page.fill("#id_contact_phone", "+91 98500 11223")
    page.fill("#id_credit_limit", "0")
    page.fill("#id_low_balance_threshold", "1000")
    ui.save(page)
    shot("09-partner")
    hill = Organization.objects.get(code="hillview")

    page.goto(f"{base}/admin/partners/partnerwallet/")
    page.locator("#result_list a", has_text="Hill View Cable").first.click()
    ui.run_dialog(page, "Recharge", fields={"amount": "5000.00", "memo": "Opening balance"})
    expect(page.locator("body")).to_contain_text("Recharged")
    shot("09-partner-wallet-recharged")
    assert wallet_balance(hill) == Decimal("5000.00")

    page.goto(f"{base}/admin/partners/planshare/add/")
    page.select_option("#id_plan", label="Home 50")
    page.select_option("#id_organization", label="Hill View Cable")
    page.fill("#id_partner_price", "450.00")
    page.fill("#id_selling_price", "590.00")
    ui.save(page)
    shot("09-partner-plan-shared")
    share = PlanShare.objects.get(organization=hill)
    assert (share.plan.code, share.partner_price) == ("home-50", Decimal("450.00"))
    return hill


# The customer base the ISP already has (as an import would leave it) -------------------------
def existing_customers(world, hill: Organization) -> None:
    plan = Plan.objects.get(code="home-50")
    now = timezone.now()

    def customer(username, organization, status, expires_in_days) -> Subscriber:
        sub = Subscriber(tenant=world.tenant, organization=organization, username=username,
                         name=username.replace("-", " ").title(), plan=plan, status=status,
                         activated_at=now - timedelta(days=28),
                         expires_at=now + timedelta(days=expires_in_days))
        sub.set_password(SUBSCRIBER_PASSWORD)
        sub.save()
        return sub

    expiring = customer("lco1-expiring", world.orgs["lco1"], Subscriber.Status.ACTIVE, 2)
    customer("lco2-suspended", world.orgs["lco2"], Subscriber.Status.SUSPENDED, 12)
    customer("hill-regular", hill, Subscriber.Status.ACTIVE, 20)
    Subscriber.objects.update(created_at=now - timedelta(days=60))
    ledger.organization_wallet(world.orgs["lco1"])  # another partner's wallet
    support.open_ticket(actor=world.users["isp_admin"], subscriber=expiring,
                        summary="Slow speed in the evenings")


# The daily flow -------------------------------------------------------------------------------
def dashboard(page, base, shot):
    page.goto(f"{base}/dashboard/index")
    expect(page.locator("[data-dashboard-tab=general]")).to_be_visible()
    expect(page.get_by_text("Expiring in 7 days")).to_be_visible()
    shot("10-dashboard-general")
    for tab in ("network", "finance"):
        page.locator(f"a[href$='?tab={tab}']").first.click()
        expect(page.locator(f"[data-dashboard-tab={tab}]")).to_be_visible()
        shot(f"11-dashboard-{tab}")


def subscriber_lists(page, base, shot):
    """The daily lists, opened from the dashboard cards as operators do."""
    page.goto(f"{base}/dashboard/index")
    page.locator("a[href*='list=expiring_7']").first.click()
    expect(page.locator("#result_list")).to_contain_text("lco1-expiring")
    assert _usernames(page) == {"lco1-expiring"}
    shot("12-list-expiring")
    page.goto(f"{base}/dashboard/index")
    page.locator("a[href*='status__exact=suspended']").first.click()
    expect(page.locator("#result_list")).to_contain_text("lco2-suspended")
    assert _usernames(page) == {"lco2-suspended"}
    shot("13-list-suspended")


def _usernames(page) -> set[str]:
    cells = page.locator("#result_list tbody tr th, #result_list tbody tr td.field-username")
    return {text.strip() for text in cells.all_inner_texts() if text.strip()}


def new_subscriber(page, base, shot) -> Subscriber:
    page.goto(f"{base}/admin/subscribers/subscriber/add/")
    page.select_option("#id_organization", label="Hill View Cable")
    page.fill("#id_username", "priya.sharma")
    page.fill("#id_password", SUBSCRIBER_PASSWORD)
    page.select_option("#id_plan", label="Home 50")
    ui.open_tab(page, "Identity")
    page.fill("#id_name", "Priya Sharma")
    page.fill("#id_mobile", "+91 98220 12345")
    page.fill("#id_area", "Baner")
    ui.save(page)
    shot("14-new-subscriber")
    priya = Subscriber.objects.get(username="priya.sharma")
    assert (priya.status, priya.organization.code, priya.plan.code) == (
        "new", "hillview", "home-50")
    page.goto(f"{base}/admin/subscribers/subscriber/?list=recent")
    assert _usernames(page) == {"priya.sharma"}
    shot("15-list-recently-added")
    return priya


def payment(page, base, shot, priya: Subscriber) -> Invoice:
    """Billing: an activation proforma, paid at the counter, becomes the paid invoice."""
    page.goto(f"{base}/admin/billing/proforma/add/")
    page.fill("[name=subscriber]", "priya.sharma")
    page.select_option("[name=plan]", label="Home 50")
    page.select_option("[name=purpose]", "activate")
    page.locator("form.max-w-2xl button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("recorded")
    ui.run_dialog(page, "Record payment and convert", fields={"reference": "UPI-771204"},
                  selects={"method": "UPI"})
    expect(page.locator("body")).to_contain_text("Paid; invoice ALB")
    shot("16-proforma-paid")
    invoice = Invoice.objects.get(subscriber=priya)
    assert invoice.status == "paid" and invoice.number.startswith("ALB")
    assert invoice.amount_paid == invoice.total == Decimal("590.00")
    receipt = Payment.objects.get(subscriber=priya)
    assert (receipt.amount, receipt.method, receipt.reference) == (
        invoice.total, "upi", "UPI-771204")
    priya.refresh_from_db()
    assert priya.status == "active" and priya.expires_at > timezone.now() + timedelta(days=29)
    page.goto(f"{base}/billing/invoices/index")
    page.get_by_role("link", name=invoice.number).first.click()
    expect(page.locator("body")).to_contain_text("Paid")
    shot("17-invoice-paid")
    page.goto(f"{base}/admin/billing/payment/")
    expect(page.locator("#result_list")).to_contain_text(receipt.number)
    shot("18-payments")
    return invoice


def radius_login(page, base, shot, server: RadiusProcess):
    """A NAS logs Priya in (and a mistyped password is refused); the Auth Log shows both."""
    server.wait_until_answering()
    accepted = radclient(server.port, "auth",
                         f'User-Name = "priya.sharma"\nUser-Password = "{SUBSCRIBER_PASSWORD}"\n'
                         'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
    assert "Access-Accept" in accepted, accepted
    assert "100.64.10." in accepted, accepted  # Framed-IP-Address from the pool made in setup
    refused = radclient(server.port, "auth",
                        'User-Name = "priya.sharma"\nUser-Password = "wrong-password"\n'
                        'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
    assert "Access-Reject" in refused, refused
    page.goto(f"{base}/admin/networking/authlog/?q=priya.sharma")
    rows = page.locator("#result_list tbody tr")
    for _ in range(30):  # the server writes its auth log in batches
        if rows.filter(has_text="accept").count() and rows.filter(has_text="reject").count():
            break
        page.reload()
    expect(rows.filter(has_text="accept")).to_have_count(1)
    expect(rows.filter(has_text="reject")).to_have_count(1)
    shot("19-auth-log")
    assert server.stop() == 0, server.output()  # the NAS is done: a clean shutdown


def support_ticket(page, base, shot, priya: Subscriber) -> Ticket:
    page.goto(f"{base}/admin/support/ticket/add/")
    ui.pick_related(page, "subscriber", "priya.sharma")
    page.select_option("#id_channel", "phone")
    page.select_option("#id_priority", "high")
    page.fill("#id_summary", "No internet since the morning")
    page.fill("#id_description", "PPPoE connects, no traffic after a power cut.")
    ui.save(page)
    shot("20-ticket")
    ticket = Ticket.objects.get(subscriber=priya)
    assert (ticket.organization.code, ticket.priority, ticket.status) == (
        "hillview", "high", "open")
    return ticket


def report_export(page, base, shot, invoice: Invoice):
    page.goto(f"{base}/reports/index")
    page.locator("a[href$='/reports/run/invoices']").first.click()
    expect(page.locator("body")).to_contain_text(invoice.number)
    page.get_by_role("button", name="Export CSV").click()
    download_link = page.get_by_role("link", name=re.compile("Download CSV"))
    expect(download_link).to_be_visible()
    shot("21-report-export")
    with page.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename.endswith(".csv")
    path = ui.ARTIFACTS_DIR / "journey-invoices-export.csv"
    download.value.save_as(path)
    content = path.read_text()
    assert invoice.number in content and "priya.sharma" in content


# Who sees what ----------------------------------------------------------------------------------
def partner_sees_its_own_tree(page, base, shot, partners: bool):
    ui.sign_in(page, base, "hill_op")
    menu = ui.sidebar(page)
    for present in ("Subscribers", "Billing", "Support"):
        assert present in menu, menu
    for absent in ("Settings", "Networking", "Plans"):
        assert absent not in menu, menu
    shot("22-partner-dashboard")
    page.goto(f"{base}/subscribers/index")
    assert _usernames(page) == {"priya.sharma", "hill-regular"}
    shot("23-partner-subscribers")
    page.goto(f"{base}/tickets/index")
    expect(page.locator("#result_list")).to_contain_text("No internet since the morning")
    expect(page.locator("#result_list")).not_to_contain_text("Slow speed in the evenings")
    if partners:
        page.goto(f"{base}/admin/partners/partnerwallet/")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)  # not LCO One's
        expect(page.locator("#result_list")).to_contain_text("Hill View Cable")
        shot("24-partner-wallet")
    response = page.goto(f"{base}/settings/index")
    assert response.status == 403


def employee_sees_its_branch(page, base, shot):
    ui.sign_in(page, base, "desk_ravi")
    menu = ui.sidebar(page)
    for present in ("Subscribers", "Support"):
        assert present in menu, menu
    for absent in ("Settings", "Billing", "Networking", "Partners"):
        assert absent not in menu, menu
    shot("25-employee-dashboard")
    page.goto(f"{base}/subscribers/index")
    assert _usernames(page) == {"lco1-expiring", "lco2-suspended"}
    shot("26-employee-subscribers")
    page.goto(f"{base}/tickets/index")
    expect(page.locator("#result_list")).to_contain_text("Slow speed in the evenings")
    expect(page.locator("#result_list")).not_to_contain_text("No internet since the morning")
    response = page.goto(f"{base}/billing/invoices/index")
    assert response.status == 403


def test_operator_journey(live_server, page, screenshot, world, tasks_inline, radius_process):
    base = live_server.url
    with ui.evidence_on_failure(page, screenshot):
        ui.sign_in(page, base, "isp_admin")
        general_settings(page, base, screenshot)
        billing_engine(page, base, screenshot)
        subscriber_portal(page, base, screenshot)
        broadband_plan(page, base, screenshot)
        nas_device(page, base, screenshot)
        radius_process["server"] = server = RadiusProcess()  # starts while the setup goes on
        ipv4_pool(page, base, screenshot)
        role(page, base, screenshot, "Support desk", [
            ("subscribers", "view_subscriber"), ("support", "view_ticket"),
            ("support", "add_ticket"), ("support", "change_ticket")])
        portal_user(page, base, screenshot, "desk_ravi", "employee", "Distributor", "Support desk")
        partners = partner_pages_exist()
        role(page, base, screenshot, "LCO operator", [
            ("subscribers", "view_subscriber"), ("subscribers", "add_subscriber"),
            ("billing", "view_invoice"), ("billing", "view_payment"),
            ("support", "view_ticket"), ("support", "add_ticket"),
            *([("partners", "view_partnerwallet")] if partners else [])])
        if partners:
            hill = partner_with_wallet_and_plan(page, base, screenshot)
        else:
            hill = partner_organization(page, base, screenshot, world.orgs["root"])
        portal_user(page, base, screenshot, "hill_op", "partner", "Hill View Cable", "LCO operator")
        existing_customers(world, hill)

        dashboard(page, base, screenshot)
        subscriber_lists(page, base, screenshot)
        priya = new_subscriber(page, base, screenshot)
        invoice = payment(page, base, screenshot, priya)
        if partners:  # the ISP sold for itself: the partner's wallet is not debited
            assert wallet_balance(hill) == Decimal("5000.00")
        radius_login(page, base, screenshot, server)
        support_ticket(page, base, screenshot, priya)
        report_export(page, base, screenshot, invoice)

        partner_sees_its_own_tree(page, base, screenshot, partners)
        employee_sees_its_branch(page, base, screenshot)
