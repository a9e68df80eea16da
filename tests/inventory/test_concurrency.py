"""Two clerks move the last unit at the same moment: exactly one movement wins."""

import threading

import pytest
from django.db import connection

from modules.core.models import Organization
from modules.inventory import selectors, services
from modules.inventory.models import StockLevel, StockMovement, Warehouse
from tests.inventory import samples


def _race(jobs):
    """Run each job in its own thread (own DB connection), started together."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait()
            job()
            outcomes[i] = "moved"
        except services.InventoryError as refused:
            outcomes[i] = str(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_transfers_of_the_last_unit_exactly_one_succeeds(transactional_db):
    from modules.core.services import create_tenant

    root = create_tenant(name="Race Net", slug="race").root
    root = Organization.objects.get(pk=root.pk)
    cable = samples.product(root)
    ont = samples.product(root, serialized=True)
    central, north, south = (Warehouse.objects.create(organization=root, code=c, name=c)
                             for c in ("central", "north", "south"))
    services.receive(actor=None, warehouse=central, product=cable, quantity=1)
    [unit] = services.receive_units(actor=None, warehouse=central, product=ont,
                                    units=[("LAST-ONT", None)])

    def move(destination, **what):
        return lambda: services.transfer(actor=None, source=central, destination=destination,
                                         **what)

    counted = _race([move(north, product=cable, quantity=1), move(south, product=cable,
                                                                    quantity=1)])
    serial = _race([move(north, product=ont, serial_unit=unit),
                    move(south, product=ont, serial_unit=unit)])

    for outcomes in (counted, serial):
        assert sorted(o == "moved" for o in outcomes) == [False, True], outcomes
    assert StockLevel.objects.get(warehouse=central, product=cable).quantity == 0
    assert StockMovement.objects.filter(kind="transfer").count() == 2
    assert selectors.levels_out_of_balance() == []
