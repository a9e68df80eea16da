"""Field visits: lifecycle, materials out of the technician's stock exactly once, units landing
on the subscriber, and refusals that roll the whole completion back."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from modules.inventory import services as inventory
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse
from modules.support import services
from modules.support.models import FieldVisit, TicketEvent


@pytest.fixture
def store(world, technician):
    """Central store with 100 m of drop cable and two ONTs; 40 m and one ONT issued to Ravi."""
    admin, root = world.users["isp_admin"], world.orgs["root"]
    central = Warehouse.objects.create(organization=root, code="central", name="Central store")
    cable = Product.objects.create(organization=root, sku="DROP-2F", name="Drop cable 2F",
                                   unit="metre")
    ont = Product.objects.create(organization=root, sku="ONT-G", name="GPON ONT",
                                 is_serialized=True)
    inventory.receive(actor=admin, warehouse=central, product=cable, quantity=100)
    unit1, unit2 = inventory.receive_units(actor=admin, warehouse=central, product=ont,
                                           units=[("ZTEG00000001", None), ("ZTEG00000002", None)])
    inventory.issue_to_technician(actor=admin, source=central, technician=technician,
                                  product=cable, quantity=40)
    inventory.issue_to_technician(actor=admin, source=central, technician=technician,
                                  product=ont, serial_unit=unit1)
    return {"cable": cable, "ont": ont, "unit": unit1, "other_unit": unit2, "central": central}


def on_hand(technician, product):
    location = inventory.technician_location(technician)
    level = StockLevel.objects.filter(warehouse=location, product=product).first()
    return level.quantity if level else 0


@pytest.fixture
def visit(world, technician, subscriber):
    ticket = services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                  summary="No light on ONT")
    return services.schedule_visit(actor=world.users["isp_admin"], technician=technician,
                                   ticket=ticket, scheduled_at=timezone.now(),
                                   purpose="Replace ONT and drop cable")


def test_a_visit_from_a_ticket_takes_its_customer_and_address(visit, subscriber, technician):
    assert visit.subscriber == subscriber
    assert visit.organization == subscriber.organization
    assert visit.address == subscriber.address
    assert visit.status == FieldVisit.Status.ASSIGNED
    assert technician.support_notifications.filter(event="visit_assigned").exists()
    assert visit.ticket.events.filter(kind=TicketEvent.Kind.VISIT).count() == 1


def test_a_standalone_visit_needs_an_address_and_a_technician_who_can_reach_it(world, technician):
    with pytest.raises(services.VisitError, match="address"):
        services.schedule_visit(actor=world.users["isp_admin"], technician=technician,
                                organization=world.orgs["lco1"], scheduled_at=timezone.now(),
                                purpose="Site survey")
    with pytest.raises(services.VisitError, match="cannot reach"):
        services.schedule_visit(actor=world.users["isp_admin"], technician=technician,
                                organization=world.orgs["partner"], address="Plot 4",
                                scheduled_at=timezone.now(), purpose="Site survey")


def test_completion_takes_materials_from_the_technicians_stock_once(visit, store, technician,
                                                                   subscriber):
    services.add_material(visit, actor=technician, product=store["cable"], quantity=25)
    services.add_material(visit, actor=technician, product=store["ont"],
                          serial_unit=store["unit"])
    services.start_visit(visit, actor=technician)
    services.complete_visit(visit, actor=technician, outcome_notes="ONT replaced, 25 m drop")
    assert on_hand(technician, store["cable"]) == 15
    unit = SerialUnit.objects.get(pk=store["unit"].pk)
    assert (unit.status, unit.subscriber) == (SerialUnit.Status.INSTALLED, subscriber)

    with pytest.raises(services.VisitError, match="completed"):
        services.complete_visit(visit, actor=technician, outcome_notes="again")
    assert on_hand(technician, store["cable"]) == 15
    assert StockMovement.objects.filter(kind="install", reference=f"V-{visit.pk:06d}").count() == 2


def test_not_enough_stock_refuses_the_completion_and_changes_nothing(visit, store, technician):
    services.add_material(visit, actor=technician, product=store["cable"], quantity=10)
    services.add_material(visit, actor=technician, product=store["ont"],
                          serial_unit=store["other_unit"])  # still in the central store
    with pytest.raises(services.VisitError):
        services.complete_visit(visit, actor=technician, outcome_notes="done")
    visit.refresh_from_db()
    assert visit.status == FieldVisit.Status.ASSIGNED
    assert on_hand(technician, store["cable"]) == 40
    assert not visit.materials.filter(movement__isnull=False).exists()


def test_failed_and_completed_visits_are_final(visit, store, technician):
    with pytest.raises(services.VisitError, match="why"):
        services.fail_visit(visit, actor=technician, outcome_notes=" ")
    services.fail_visit(visit, actor=technician, outcome_notes="Gate locked, customer away")
    with pytest.raises(services.VisitError):
        services.start_visit(visit, actor=technician)
    with pytest.raises(services.VisitError):
        services.add_material(visit, actor=technician, product=store["cable"], quantity=1)
    with pytest.raises(services.VisitError, match="already failed"):
        services.complete_visit(visit, actor=technician)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_completions_take_stock_once(world, store, technician, subscriber):
    visit = services.schedule_visit(actor=world.users["isp_admin"], technician=technician,
                                    subscriber=subscriber, scheduled_at=timezone.now(),
                                    purpose="New connection")
    services.add_material(visit, actor=technician, product=store["cable"], quantity=30)
    barrier, outcomes = threading.Barrier(2), []

    def complete():
        try:
            barrier.wait()
            services.complete_visit(visit, actor=technician, outcome_notes="Connected")
            outcomes.append("done")
        except services.VisitError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done", "refused"]
    assert on_hand(technician, store["cable"]) == 10


def test_completion_posted_twice_from_the_admin_takes_stock_once(client, visit, store,
                                                                 technician):
    services.add_material(visit, actor=technician, product=store["cable"], quantity=5)
    client.force_login(technician)
    url = reverse("admin:support_fieldvisit_complete_action", args=[visit.pk])
    data = {"_form_submitted": "on", "outcome_notes": "Spliced the drop"}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert on_hand(technician, store["cable"]) == 35
    visit.refresh_from_db()
    assert visit.status == FieldVisit.Status.COMPLETED
    assert visit.outcome_notes == "Spliced the drop"
