"""RADIUS sessions partitioned by month of `stopped_at`: open sessions in the default partition.

Each test converts the real `networking_radiussession` table inside its transaction (DDL is
transactional), so the table is plain again afterwards; the one test that needs two
connections rebuilds it from the model.
"""

import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.utils import timezone

from modules.networking import accounting, services
from modules.networking.accounting import AcctRecord
from modules.networking.models import DailyUsage, RadiusSession
from modules.ops import partitions
from modules.ops.partitions import Partitioned, month_start
from tests.networking.samples import make_session
from tests.subscribers.samples import make_subscriber

TABLE = "networking_radiussession"
SPEC = Partitioned(TABLE, "stopped_at", keep_months=3, nullable=True)


def at(year, month, day, hour=12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def session(world, uid: str, started: datetime, stopped: datetime | None = None):
    return make_session(world.orgs["lco1"], unique_id=uid, started_at=started,
                        updated_at=stopped or started, stopped_at=stopped)


def partition_of(uid: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE unique_id = %s "
                       "ORDER BY id", [uid])
        return [row[0] for row in cursor.fetchall()]


def this_month() -> str:
    return partitions.partition_name(TABLE, month_start(timezone.now().date()))


@pytest.mark.django_db
def test_conversion_files_closed_sessions_by_month_and_keeps_open_ones(world):
    june = session(world, "june", at(2026, 6, 9), at(2026, 6, 10))
    august = session(world, "august", at(2026, 8, 31, 20), at(2026, 8, 31, 23))
    old_open = session(world, "old-open", at(2025, 1, 1))  # a very long session
    live = session(world, "live", at(2026, 11, 29))

    assert partitions.convert(SPEC, today=date(2026, 11, 30)) == 4

    assert partitions.partitions(TABLE) == [  # the months with data, then the coming ones
        *(f"{TABLE}_p2026{m:02d}" for m in (6, 7, 8, 11, 12)), f"{TABLE}_p202701",
        f"{TABLE}_default"]
    assert partition_of("june") == [f"{TABLE}_p202606"]
    assert partition_of("august") == [f"{TABLE}_p202608"]
    assert partition_of("old-open") == partition_of("live") == [f"{TABLE}_default"]
    assert sorted(RadiusSession.objects.values_list("pk", flat=True)) == sorted(
        s.pk for s in (june, august, old_open, live))
    later = session(world, "later", at(2026, 11, 30))
    assert later.pk > max(june.pk, august.pk, old_open.pk, live.pk)  # the same id sequence
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [TABLE])
        names = {row[0] for row in cursor.fetchall()}
    assert {"session_unique_stop", f"{TABLE}_id_key", "session_live_sub_idx",
            "session_started_idx", "session_username_idx"} <= names
    with pytest.raises(IntegrityError), transaction.atomic():  # one open row per session
        session(world, "live", at(2026, 11, 30))
    assert partitions.convert(SPEC) == 0


@pytest.mark.django_db
def test_upkeep_adds_months_and_drops_expired_ones_but_never_open_sessions(world, settings):
    settings.PARTITION_RETENTION_MONTHS = {TABLE: 3}
    session(world, "march", at(2026, 3, 1), at(2026, 3, 5))
    session(world, "open-since-february", at(2026, 2, 1))
    partitions.convert(SPEC, today=date(2026, 6, 15))  # March, then June to August
    session(world, "september", at(2026, 9, 1), at(2026, 9, 5))  # no month yet: default
    session(world, "late-stop", at(2025, 11, 1), at(2025, 12, 1))  # expired, in default

    done = partitions.maintain(today=date(2026, 9, 10))

    assert done == {TABLE: {
        "created": [f"{TABLE}_p202609", f"{TABLE}_p202610", f"{TABLE}_p202611"],
        "dropped": [f"{TABLE}_p202603"]}}
    assert partition_of("september") == [f"{TABLE}_p202609"]
    assert partition_of("open-since-february") == [f"{TABLE}_default"]
    assert sorted(RadiusSession.objects.values_list("unique_id", flat=True)) == [
        "open-since-february", "september"]
    assert partitions.maintain(today=date(2026, 9, 10)) == {TABLE: {"created": [],
                                                                    "dropped": []}}


def record(sub, status, uid, when, **fields) -> AcctRecord:
    return AcctRecord(status=status, unique_id=uid, session_id=f"S-{uid}",
                      username=sub.username, tenant_id=sub.tenant_id, nas_id=None,
                      nas_org_id=sub.organization_id, nas_ip="10.0.0.1", event_time=when, **fields)


@pytest.mark.django_db
def test_accounting_start_interim_stop_retransmits_and_unknown_sessions(world):
    partitions.convert(partitions.tables()[1])
    sub = make_subscriber(world.orgs["lco1"])
    now = timezone.now()
    start = record(sub, "Start", "x", now - timedelta(minutes=10), framed_ip="100.64.0.9")
    accounting.store_batch([start])
    accounting.store_batch([start])  # a repeated Start
    interim = record(sub, "Interim-Update", "x", now - timedelta(minutes=5), session_time=300,
                     input_octets=1000, output_octets=2000)
    accounting.store_batch([interim])
    accounting.store_batch([interim])  # a retransmit
    assert partition_of("x") == [f"{TABLE}_default"]
    stop = record(sub, "Stop", "x", now, session_time=600, input_octets=1500,
                  output_octets=2500, terminate_cause="User-Request")
    accounting.store_batch([stop])
    accounting.store_batch([stop, interim])  # a retransmitted Stop, a late Interim-Update

    assert partition_of("x") == [this_month()]  # the Stop moved it into its month
    closed = RadiusSession.objects.get(unique_id="x")
    assert (closed.stopped_at, closed.terminate_cause) == (now, "User-Request")
    assert (closed.input_octets, closed.output_octets, closed.session_time) == (1500, 2500, 600)
    assert closed.framed_ip == "100.64.0.9"
    usage = DailyUsage.objects.get(subscriber=sub)
    assert (usage.input_octets, usage.output_octets) == (1500, 2500)

    accounting.store_batch([record(sub, "Interim-Update", "y", now, session_time=120,
                                   input_octets=10, output_octets=20)])
    unknown = RadiusSession.objects.get(unique_id="y")
    assert unknown.stopped_at is None and unknown.started_at == now - timedelta(seconds=120)
    stop_z = record(sub, "Stop", "z", now, session_time=60, terminate_cause="Lost-Carrier")
    accounting.store_batch([stop_z])
    accounting.store_batch([stop_z])
    assert partition_of("y") == [f"{TABLE}_default"] and partition_of("z") == [this_month()]
    assert RadiusSession.objects.get(unique_id="z").terminate_cause == "Lost-Carrier"
    accounting.store_batch([start])  # a Start again after the Stop: still the one row
    assert RadiusSession.objects.filter(unique_id="x").count() == 1


@pytest.mark.django_db
def test_closing_stale_sessions_and_a_nas_reboot_move_rows_into_their_month(world):
    partitions.convert(partitions.tables()[1])
    hour_ago = timezone.now() - timedelta(hours=1)
    stale = session(world, "stale", hour_ago)
    fresh = session(world, "fresh", timezone.now())
    assert services.close_stale_sessions(interim_seconds=300) == 1
    assert services.close_stale_sessions(interim_seconds=300) == 0
    assert partition_of("stale") == [this_month()]
    assert partition_of("fresh") == [f"{TABLE}_default"]
    stale.refresh_from_db()
    assert stale.terminate_cause == "Stale-Session"
    sub = fresh.subscriber
    accounting.store_batch([AcctRecord(status="Accounting-On", unique_id="", session_id="",
                                       username="", tenant_id=sub.tenant_id, nas_id=None,
                                       nas_org_id=None, nas_ip="10.0.0.1",
                                       event_time=timezone.now())])
    assert partition_of("fresh") == [this_month()]
    assert not RadiusSession.objects.filter(stopped_at__isnull=True).exists()


def test_a_write_that_waited_for_a_moved_row_runs_again():
    class Moved(Exception):
        sqlstate = "40001"

    attempts = []

    def write():
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError("tuple to be locked was already moved") from Moved()
        return "stored"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transaction, "atomic", lambda: _Nothing())
        assert accounting.retry_moved_rows(write) == "stored"
        assert len(attempts) == 2
        with pytest.raises(OperationalError):
            accounting.retry_moved_rows(lambda: (_ for _ in ()).throw(OperationalError("x")))


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.django_db(transaction=True)
def test_an_interim_waiting_on_a_session_being_closed_follows_it(world):
    """A stale close moves the row while accounting waits for it: the batch runs again."""
    partitions.convert(partitions.tables()[1])
    try:
        sub = make_subscriber(world.orgs["lco1"])
        now = timezone.now()
        accounting.store_batch([record(sub, "Start", "w", now - timedelta(minutes=30))])
        closer = connections.create_connection("default")
        closer.set_autocommit(False)
        with closer.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET stopped_at = now(), terminate_cause = "
                           "'Stale-Session' WHERE unique_id = 'w' AND stopped_at IS NULL")
        interim = record(sub, "Interim-Update", "w", now, session_time=1800, input_octets=5,
                         output_octets=7)
        failures = []

        def write():
            try:
                accounting.store_batch([interim])
            except Exception as exc:
                failures.append(exc)
            finally:
                connections.close_all()

        writer = threading.Thread(target=write)
        writer.start()
        with connection.cursor() as cursor:  # wait until the writer waits for the row lock
            for _ in range(500):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                               "'Lock' AND datname = current_database()")
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.02)
        closer.commit()
        closer.close()
        writer.join(30)
        assert not failures
        row = RadiusSession.objects.get(unique_id="w")
        assert (row.terminate_cause, row.input_octets, row.output_octets) == (
            "Stale-Session", 5, 7)
        assert partition_of("w") == [this_month()]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(RadiusSession)
            editor.create_model(RadiusSession)


@pytest.mark.django_db
def test_command_converts_both_tables_and_lists_them(world):
    session(world, "one", at(2026, 10, 1), at(2026, 10, 2))
    output = io.StringIO()
    call_command("partition_tables", "--convert", "--maintain", stdout=output)
    out = output.getvalue()
    assert f"{TABLE}: partitioned by month, 1 rows moved" in out
    assert "networking_authlog: partitioned by month" in out
    assert f"{TABLE}: " in out.splitlines()[-1] and "keeps 13 months" in out.splitlines()[-1]
    assert RadiusSession.objects.count() == 1


@pytest.mark.django_db
def test_the_nightly_job_keeps_both_tables():
    for spec in partitions.tables():
        partitions.convert(spec)
    from modules.ops.tasks import maintain_partitions

    done = maintain_partitions()
    assert set(done) == {"networking_authlog", TABLE}
    assert this_month() in partitions.partitions(TABLE)
