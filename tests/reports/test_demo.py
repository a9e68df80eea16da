"""The demo's report roll-ups load once and change nothing the second time."""

from fixtures.demo import DEMO_PASSWORD, core, reports
from modules.reports.models import DailyCollection, DailyRevenue, RollupRun


def _state():
    return (list(RollupRun.objects.values_list("tenant__slug", "name", "finished_at")),
            list(DailyCollection.objects.order_by("pk").values_list("pk", "amount")),
            list(DailyRevenue.objects.order_by("pk").values_list("pk", "taxable_value")))


def test_demo_rollups_load_and_loading_again_changes_nothing(db):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    core.load(ctx)
    reports.load(ctx)
    first = _state()
    reports.load(ctx)
    assert _state() == first
    assert sorted(row[:2] for row in first[0]) == [("skyline", "dashboard"),
                                                   ("skyline", "finance")]
