"""Report reads go to the `replica` alias when one is configured; writes never do."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from config.db_routers import REPLICA, ReplicaRouter, replica_reads
from modules.ops.models import Heartbeat
from modules.ops.tasks import ping


@pytest.fixture(scope="module")
def replica_alias(django_db_setup, django_db_blocker):
    """A second alias on the same server and database, as DATABASE_REPLICA_URL would add.

    Module scope: it must exist before a test that names it in `databases` is set up.
    """
    primary = connections["default"].settings_dict  # the test database by now
    connections.settings[REPLICA] = {**primary, "TEST": {**primary["TEST"], "MIRROR": "default"}}
    yield REPLICA
    with django_db_blocker.unblock():
        connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


def test_without_a_replica_everything_stays_on_the_primary(monkeypatch):
    monkeypatch.delitem(connections.settings, REPLICA, raising=False)
    with replica_reads():
        assert ReplicaRouter().db_for_read(Heartbeat) is None
        assert Heartbeat.objects.all().db == "default"


def test_migrations_never_run_on_the_replica():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "ops") is False
    assert router.allow_migrate("default", "ops") is None


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
def test_report_reads_use_the_replica_and_writes_the_primary(replica_alias):
    ping(source="replica-check", token="t-1")
    other_reads = Heartbeat.objects.all()

    with replica_reads(), CaptureQueriesContext(connections[REPLICA]) as on_replica:
        beat = Heartbeat.objects.get(source="replica-check")
        beat.token = "t-2"
        beat.save()

    assert other_reads.db == "default"
    assert beat._state.db == "default"  # saved through the primary
    assert [q["sql"].split()[0] for q in on_replica.captured_queries] == ["SELECT"]
    assert Heartbeat.objects.get(source="replica-check").token == "t-2"


def test_apps_listed_for_the_replica_read_there_without_asking(replica_alias, settings):
    settings.REPLICA_READ_APPS = ["ops"]

    assert Heartbeat.objects.all().db == REPLICA


def test_replica_reads_end_with_the_block(replica_alias):
    with replica_reads():
        assert Heartbeat.objects.all().db == REPLICA
    assert Heartbeat.objects.all().db == "default"


def test_report_rows_read_from_the_replica_but_export_progress_from_the_primary(
        replica_alias, settings):
    from modules.reports.models import DailyCollection, Report

    settings.REPLICA_READ_APPS = ["reports"]
    assert DailyCollection.objects.all().db == REPLICA
    with replica_reads():
        assert Report.objects.all().db == "default"  # a job's progress is never stale
    assert Report.objects.select_for_update().db == "default"
