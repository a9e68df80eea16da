from fixtures.demo import DEMO_PASSWORD, core, inventory
from modules.inventory import selectors
from modules.inventory.models import StockLevel, StockMovement


def test_demo_stock_loads_and_loading_again_changes_nothing(db):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    core.load(ctx)
    inventory.load(ctx)
    def snapshot():
        return StockMovement.objects.count(), list(StockLevel.objects.values_list("quantity"))

    counts = snapshot()
    inventory.load(ctx)
    assert snapshot() == counts
    assert counts[0] > 0 and selectors.levels_out_of_balance() == []
