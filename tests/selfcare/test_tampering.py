"""A subscriber never reaches another subscriber's rows, whatever id it puts in the URL."""

import pytest

from modules.billing import orchestration
from modules.billing.models import Invoice, Payment
from modules.support import services as support
from modules.support.models import TicketComment
from tests.plans.samples import make_plan


@pytest.fixture
def bobs(portal):
    portal.configure(allow_ticket_creation=True, allow_plan_upgrade=True,
                     allow_plan_downgrade=True)
    orchestration.renew_and_bill(portal.bob, actor=None, require_paid=True)
    ticket = support.open_ticket(actor=None, subscriber=portal.bob, summary="Bob's router",
                                 channel="selfcare")
    return {"invoice": Invoice.objects.get(subscriber=portal.bob),
            "payment": Payment.objects.get(subscriber=portal.bob), "ticket": ticket}


def test_alice_cannot_open_bobs_invoice_receipt_or_ticket(portal, bobs):
    client = portal.client_for(portal.alice)
    for url in (f"/portal/invoices/{bobs['invoice'].pk}/download",
                f"/portal/invoices/{bobs['invoice'].pk}/download?format=pdf",
                f"/portal/payments/{bobs['payment'].pk}/receipt",
                f"/portal/tickets/{bobs['ticket'].pk}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Bob" not in response.content
    # Missing ids answer exactly like forbidden ones.
    assert client.get("/portal/invoices/999999/download").status_code == 404


def test_bob_sees_his_own_rows(portal, bobs):
    client = portal.client_for(portal.bob)
    invoice = client.get(f"/portal/invoices/{bobs['invoice'].pk}/download")
    assert invoice.status_code == 200 and bobs["invoice"].number in invoice.content.decode()
    pdf = client.get(f"/portal/invoices/{bobs['invoice'].pk}/download?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/portal/payments/{bobs['payment'].pk}/receipt").status_code == 200
    ticket = client.get(f"/portal/tickets/{bobs['ticket'].pk}").content.decode()
    assert "Bob&#x27;s router" in ticket


def test_alice_cannot_reply_to_bobs_ticket(portal, bobs):
    client = portal.client_for(portal.alice)
    response = client.post(f"/portal/tickets/{bobs['ticket'].pk}", {"body": "hijack"})
    assert response.status_code == 404
    assert not TicketComment.objects.filter(ticket=bobs["ticket"]).exists()


def test_lists_show_only_the_signed_in_subscribers_rows(portal, bobs):
    client = portal.client_for(portal.alice)
    billing = client.get("/portal/billing").content.decode()
    assert bobs["invoice"].number not in billing and bobs["payment"].number not in billing
    assert "Bob&#x27;s router" not in client.get("/portal/tickets").content.decode()


def test_plans_of_another_isp_or_hidden_plans_cannot_be_bought(portal, bobs):
    other = make_plan(portal.world.orgs["other_root"], name="Beta Gold")
    hidden = make_plan(portal.world.orgs["root"], name="Staff only", visible_in_selfcare=False)
    partner_plan = make_plan(portal.world.orgs["partner"], name="Partner special")
    client = portal.client_for(portal.alice)
    for plan in (other, hidden, partner_plan):
        assert client.get(f"/portal/plans/{plan.pk}/change").status_code == 404
        assert client.post(f"/portal/plans/{plan.pk}/change").status_code == 404
        assert client.post(f"/portal/addons/{plan.pk}").status_code == 404
    portal.alice.refresh_from_db()
    assert portal.alice.plan_id == portal.billing.plan.pk
