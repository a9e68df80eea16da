from fixtures.demo import DEMO_PASSWORD, core, inventory, support
from modules.inventory import selectors as stock
from modules.inventory.models import SerialUnit, StockMovement
from modules.subscribers.models import Subscriber
from modules.support.models import FieldVisit, SlaPolicy, Ticket, TicketEvent


def test_demo_support_desk_loads_and_loading_again_changes_nothing(db):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    core.load(ctx)
    for n in range(4):
        Subscriber.objects.create(tenant=ctx["tenant"], organization=ctx["kothrud"],
                                  username=f"demo.sub{n}", name=f"Demo {n}",
                                  address=f"{n} Paud Road, Kothrud, Pune")
    inventory.load(ctx)
    support.load(ctx)

    def snapshot():
        return (Ticket.objects.count(), TicketEvent.objects.count(), FieldVisit.objects.count(),
                SlaPolicy.objects.count(), StockMovement.objects.count())

    counts = snapshot()
    support.load(ctx)
    assert snapshot() == counts
    assert counts[0] == 4 and counts[3] == 4
    done = FieldVisit.objects.get(status=FieldVisit.Status.COMPLETED)
    assert SerialUnit.objects.filter(subscriber=done.subscriber, status="installed").exists()
    assert FieldVisit.objects.filter(status=FieldVisit.Status.ASSIGNED).count() == 1
    assert stock.levels_out_of_balance() == []
