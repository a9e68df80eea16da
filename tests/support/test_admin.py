"""The support pages as operators use them: scope, technician rule, POST-only dialog actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from modules.support import services
from modules.support.models import FieldVisit, SlaPolicy, Ticket, TicketComment
from tests.support.samples import make_subscriber

DIALOG = {"_form_submitted": "on"}


def ticket_at(world, org_name, summary="No internet"):
    return services.open_ticket(actor=world.users["isp_admin"], summary=summary,
                                subscriber=make_subscriber(world.orgs[org_name]))


def changelist_ids(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_a_partner_sees_only_its_subtrees_tickets(client, world):
    mine = [ticket_at(world, "lco1"), ticket_at(world, "lco2"), ticket_at(world, "dist")]
    other = ticket_at(world, "partner")
    client.force_login(world.users["dist"])
    assert changelist_ids(client, reverse("admin:support_ticket_changelist")) == {
        t.pk for t in mine}
    assert client.get(reverse("admin:support_ticket_change", args=[other.pk])).status_code == 404


def test_a_technician_sees_only_its_own_visits_and_a_dispatcher_sees_all(
        client, world, technician, agent, make_staff, subscriber):
    from tests.support.conftest import TECHNICIAN_PERMS

    colleague = make_staff("tech_sunil", world.orgs["lco1"], TECHNICIAN_PERMS)
    visits = {}
    for tech in (technician, colleague):
        visits[tech.username] = services.schedule_visit(
            actor=agent, technician=tech, subscriber=subscriber, scheduled_at=timezone.now(),
            purpose="Relocate router")
    url = reverse("admin:support_fieldvisit_changelist")
    client.force_login(technician)
    assert changelist_ids(client, url) == {visits["tech_ravi"].pk}
    other = visits["tech_sunil"]
    page = client.get(reverse("admin:support_fieldvisit_change", args=[other.pk]))
    assert page.status_code == 404
    start = reverse("admin:support_fieldvisit_start_action", args=[other.pk])
    assert client.post(start, DIALOG).status_code == 404
    assert FieldVisit.objects.get(pk=other.pk).status == FieldVisit.Status.ASSIGNED
    client.force_login(agent)
    assert changelist_ids(client, url) == {v.pk for v in visits.values()}


def test_a_technician_starts_its_visit_with_a_post_not_a_link(client, world, technician,
                                                              subscriber):
    visit = services.schedule_visit(actor=world.users["isp_admin"], technician=technician,
                                    subscriber=subscriber, scheduled_at=timezone.now(),
                                    purpose="Check signal")
    client.force_login(technician)
    url = reverse("admin:support_fieldvisit_start_action", args=[visit.pk])
    assert client.get(url).status_code == 200  # the dialog only
    assert FieldVisit.objects.get(pk=visit.pk).status == FieldVisit.Status.ASSIGNED
    response = client.post(url, DIALOG, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("admin:support_fieldvisit_change", args=[visit.pk])
    assert FieldVisit.objects.get(pk=visit.pk).status == FieldVisit.Status.STARTED


def test_assign_dialog_lists_reachable_people_and_assigns_on_post(client, world, agent):
    ticket = ticket_at(world, "lco1")
    client.force_login(agent)
    url = reverse("admin:support_ticket_assign_action", args=[ticket.pk])
    dialog = client.get(url)
    choices = {u.username for u in dialog.context["form"].fields["assignee"].queryset}
    assert "lco1_user" in choices and "partner_user" not in choices and "lco2_user" not in choices
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    response = client.post(url, {**DIALOG, "assignee": world.users["lco1"].pk, "note": "Area"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == world.users["lco1"]


def test_actions_on_a_ticket_outside_scope_are_not_found(client, world):
    ticket = ticket_at(world, "partner")
    client.force_login(world.users["dist"])
    for name, data in (("assign", {"assignee": world.users["dist"].pk}),
                       ("status", {"status": "in_progress"}),
                       ("comment", {"visibility": "reply", "body": "hi"})):
        url = reverse(f"admin:support_ticket_{name}_action", args=[ticket.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {**DIALOG, **data}).status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.comments.count()) == ("open", None, 0)


def test_a_technician_may_not_assign_or_change_tickets(client, world, technician):
    ticket = ticket_at(world, "lco1")
    client.force_login(technician)
    for name in ("assign", "status", "comment"):
        url = reverse(f"admin:support_ticket_{name}_action", args=[ticket.pk])
        assert client.post(url, {**DIALOG, "status": "in_progress"}).status_code == 403


def test_status_dialog_offers_only_allowed_moves_and_reports_refusals(client, world, agent):
    ticket = ticket_at(world, "lco1")
    client.force_login(agent)
    url = reverse("admin:support_ticket_status_action", args=[ticket.pk])
    offered = [value for value, _ in client.get(url).context["form"].fields["status"].choices]
    assert offered == ["in_progress", "waiting", "resolved"]
    no_blocker = client.post(url, {**DIALOG, "status": "waiting", "blocker": ""})
    assert no_blocker.status_code == 200 and b"waiting on" in no_blocker.content
    assert client.post(url, {**DIALOG, "status": "in_progress"}).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"


def test_comment_dialog_adds_a_customer_reply(client, world, agent):
    ticket = ticket_at(world, "lco1")
    client.force_login(agent)
    url = reverse("admin:support_ticket_comment_action", args=[ticket.pk])
    client.post(url, {**DIALOG, "visibility": "reply", "body": "Technician visits at 4 pm"})
    comment = TicketComment.objects.get(ticket=ticket)
    assert (comment.visibility, comment.author) == ("reply", agent)


def test_opening_a_ticket_in_the_admin_goes_through_the_service(client, world, agent):
    subscriber = make_subscriber(world.orgs["lco2"])
    client.force_login(agent)
    response = client.post(reverse("admin:support_ticket_add"), {
        "subscriber": subscriber.pk, "customer_name": "", "customer_phone": "",
        "customer_email": "", "organization": "", "channel": "phone", "category": "",
        "priority": "high", "summary": "Frequent disconnects", "description": "",
        **{f"{p}-{k}": v for p in ("comments", "attachments", "events", "visits")
           for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"),
                        ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))},
    })
    assert response.status_code == 302, response.content[:2000]
    ticket = Ticket.objects.get()
    assert (ticket.organization, ticket.created_by, ticket.channel) == (
        world.orgs["lco2"], agent, "phone")
    assert ticket.events.get().kind == "created"


def test_sla_settings_url_and_duplicate_policies(client, world):
    client.force_login(world.users["isp_admin"])
    assert client.get("/tickets/settings/sla").url == reverse(
        "admin:support_slapolicy_changelist")
    assert client.get("/tickets/index").url == reverse("admin:support_ticket_changelist")
    data = {"name": "Urgent", "priority": "urgent", "category": "", "is_active": "on",
            "first_response_minutes": "30", "resolution_minutes": "240", "at_risk_percent": "80",
            "use_business_hours": "on", "pause_while_waiting": "on", "escalation_role": ""}
    assert client.post(reverse("admin:support_slapolicy_add"), data).status_code == 302
    again = client.post(reverse("admin:support_slapolicy_add"), {**data, "name": "Copy"})
    assert again.status_code == 200 and SlaPolicy.objects.count() == 1
    assert SlaPolicy.objects.get().tenant == world.tenant


def page_queries(captured):
    """Queries of the page itself (the session middleware's own writes vary by timing)."""
    return len([q for q in captured.captured_queries
                if "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]])


def test_ticket_list_query_count_does_not_grow_with_rows(client, world):
    client.force_login(world.users["isp_admin"])
    url = reverse("admin:support_ticket_changelist")
    for _ in range(2):
        ticket_at(world, "lco1")
    client.get(url)  # first request of the session: per-user lookups get cached
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        ticket_at(world, "lco2")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    # Per-request caches may be refreshed in either request; what matters is no query per row.
    assert page_queries(many) <= page_queries(few) <= 20


@pytest.mark.parametrize("name", ["ticket", "fieldvisit", "slapolicy", "supportteam",
                                  "ticketcategory", "holiday", "businesshours"])
def test_support_pages_open_for_the_isp_admin(client, world, name):
    client.force_login(world.users["isp_admin"])
    assert client.get(reverse(f"admin:support_{name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:support_{name}_add")).status_code == 200


def test_the_subscribers_page_lists_its_tickets(client, world, subscriber):
    mine = services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                summary="Router reboots every hour")
    ticket_at(world, "lco1", summary="Someone else's ticket")
    client.force_login(world.users["lco1"])
    page = client.get(reverse("admin:subscribers_subscriber_change", args=[subscriber.pk]))
    assert page.status_code == 200
    tabs = {f.formset.prefix: f for f in page.context["inline_admin_formsets"]}
    assert list(tabs["tickets"].formset.queryset) == [mine]
    assert b"Router reboots every hour" in page.content
    add = client.get(reverse("admin:subscribers_subscriber_add"))
    assert "tickets" not in {f.formset.prefix for f in add.context["inline_admin_formsets"]}


def test_field_visits_entry_url_opens_the_visit_list(client, world):
    client.force_login(world.users["isp_admin"])
    response = client.get("/field-visits/index")
    assert response.status_code == 302
    assert response.url == reverse("admin:support_fieldvisit_changelist")
    assert client.get(response.url).status_code == 200


def test_a_technician_lists_materials_from_its_own_stock(client, world, technician,
                                                         subscriber):
    from modules.inventory import services as inventory
    from modules.inventory.models import Product, Warehouse

    admin_user, root = world.users["isp_admin"], world.orgs["root"]
    central = Warehouse.objects.create(organization=root, code="central", name="Central")
    cable, patch = (Product.objects.create(organization=root, sku=sku, name=sku)
                    for sku in ("DROP-2F", "PATCH-3M"))
    for product in (cable, patch):
        inventory.receive(actor=admin_user, warehouse=central, product=product, quantity=50)
    inventory.issue_to_technician(actor=admin_user, source=central, technician=technician,
                                  product=cable, quantity=20)
    visit = services.schedule_visit(actor=admin_user, technician=technician,
                                    subscriber=subscriber, scheduled_at=timezone.now(),
                                    purpose="Re-splice the drop")
    client.force_login(technician)
    page = client.get(reverse("admin:support_fieldvisit_change", args=[visit.pk]))
    assert page.status_code == 200
    [materials] = [f for f in page.context["inline_admin_formsets"]
                   if f.formset.prefix == "materials"]
    assert materials.has_add_permission
    assert list(materials.formset.empty_form.fields["product"].queryset) == [cable]
