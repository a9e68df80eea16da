"""The accounting spool's files: order across segments, torn tails, idle slots, positions,
and the applier process that shares them."""

import os
import signal
import time

import pytest

from radius_server import spool as spooling
from radius_server.applier import ApplierProcess, SpoolWriter


def _open(directory, **options):
    options.setdefault("max_bytes", 1 << 20)
    return spooling.open_spools(directory, **options)


def test_records_come_back_in_order_across_segments_and_applied_segments_go(tmp_path):
    own, orphans = _open(tmp_path, segment_bytes=100)
    assert orphans == []
    for n in range(10):
        own.append([f"record-{n}".encode() * 5])
    assert len(own.segments()) > 3
    bodies, position = own.read((own.segments()[0], 0), 4)
    assert bodies == [f"record-{n}".encode() * 5 for n in range(4)]
    rest, end = own.read(position, 100)
    assert rest == [f"record-{n}".encode() * 5 for n in range(4, 10)]
    assert end == own.end
    own.applied(end)
    assert own.segments() == [end[0]] and own.pending_bytes == 0
    own.close()


def test_a_full_spool_refuses_and_a_torn_tail_is_cut_at_start(tmp_path):
    own, _ = _open(tmp_path, max_bytes=100)
    own.append([b"x" * 40])
    with pytest.raises(spooling.SpoolFull):
        own.append([b"y" * 60])
    path = own._segment_path(own.end[0])
    own.close()
    with open(path, "ab") as handle:  # a crash in the middle of a write
        handle.write(spooling.frame(b"never acknowledged")[:-3])
    again, _ = _open(tmp_path)
    assert again.read((again.segments()[0], 0), 10)[0] == [b"x" * 40]
    assert os.path.getsize(path) == again.end[1]
    again.close()


def test_a_slot_nobody_runs_is_drained_by_another_process(tmp_path):
    first, _ = _open(tmp_path)
    second, _ = _open(tmp_path)
    second.append([b"left behind"])
    old_id = second.id
    second.close()  # that process is gone; its slot still holds a record
    first.close()
    own, orphans = _open(tmp_path)
    assert [spool.id for spool in orphans] == [old_id]
    applied = []
    writer = SpoolWriter(orphans[0], lambda bodies, sid, pos: applied.extend(bodies),
                         lambda sid: None, drain_and_exit=True)
    writer.start()
    writer.join(5)
    assert applied == [b"left behind"]
    assert not orphans[0].segments()
    assert not (orphans[0].path / "id").exists()  # a new owner starts a new position
    own.close()


@pytest.mark.parametrize("stale", [False, True])
def test_a_stored_position_is_resumed_and_a_stale_one_is_not_trusted(tmp_path, stale):
    own, _ = _open(tmp_path)
    own.append([b"one", b"two"])
    _bodies, middle = own.read((own.segments()[0], 0), 1)
    stored = (own.end[0], 10**9) if stale else middle
    applied = []
    writer = SpoolWriter(own, lambda bodies, sid, pos: applied.extend(bodies),
                         lambda sid: stored, drain_and_exit=True)
    writer.start()
    writer.join(5)
    assert applied == ([b"one", b"two"] if stale else [b"two"])


def test_records_arriving_within_the_interval_are_applied_in_one_transaction(tmp_path):
    own, _ = _open(tmp_path)
    batches = []
    writer = SpoolWriter(own, lambda bodies, sid, pos: batches.append(list(bodies)),
                         lambda sid: None, min_interval=0.5)
    writer.start()
    own.append([b"first"])
    deadline = time.monotonic() + 5
    while not batches and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(20):  # while the writer waits out its interval
        own.append([f"record-{n}".encode()])
    while not writer.idle and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    own.close()
    assert batches[0] == [b"first"]
    assert batches[1:] == [[f"record-{n}".encode() for n in range(20)]]


def test_bytes_not_yet_fsynced_are_not_read_back(tmp_path):
    own, _ = _open(tmp_path)
    own.append([b"durable"])
    with open(own._segment_path(own.end[0]), "ab") as handle:  # written, end not published
        handle.write(spooling.frame(b"not acknowledged yet"))
    bodies, position = own.read((own.segments()[0], 0), 10)
    assert bodies == [b"durable"] and position == own.end
    own.close()


def _write_to(path):
    """An apply that writes each record and the pid that applied it to a file."""
    def apply(bodies, _spool_id, _position):
        pid = str(os.getpid()).encode()
        with open(path, "ab") as handle:
            handle.write(b"".join(body + b" " + pid + b"\n" for body in bodies))
    return apply


def test_an_applier_process_applies_what_the_owner_appends_and_shares_its_position(tmp_path):
    own, _ = _open(tmp_path / "spool")
    applied = tmp_path / "applied"
    writer = SpoolWriter(own, _write_to(applied), lambda sid: None, min_interval=0.05)
    failures = []
    applier = ApplierProcess([writer], failures.append)
    applier.start()
    try:
        for n in range(50):
            own.append([f"record-{n}".encode()])
        deadline = time.monotonic() + 10
        while not own.settled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert own.settled() and own.pending_bytes == 0
        assert applied.read_bytes().splitlines() == [
            f"record-{n} {applier.pid}".encode() for n in range(50)]  # in order, in the child
    finally:
        applier.stop()
        own.close()
    assert applier.exit_code == 0 and failures == []


def test_a_dead_applier_is_reported_and_what_it_left_stays_pending(tmp_path):
    own, _ = _open(tmp_path / "spool")
    writer = SpoolWriter(own, _write_to(tmp_path / "applied"), lambda sid: None)
    failures = []
    applier = ApplierProcess([writer], failures.append)
    applier.start()
    deadline = time.monotonic() + 10
    while own.applied_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(applier.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert failures == [-signal.SIGKILL]
    own.append([b"after the applier died"])
    assert own.pending_bytes == 8 + len(b"after the applier died")
    applier.stop()
    own.close()


def test_a_position_torn_by_a_killed_applier_reads_as_unknown_not_as_a_hang(tmp_path):
    own, _ = _open(tmp_path)
    own.append([b"first"])
    own.applied(own.end)
    assert own.pending_bytes == 0
    own._state[spooling._APPLIED_AT + 3] ^= 0xFF  # killed in the middle of writing it
    assert own.applied_at is None
    own.append([b"second"])  # the owner goes on: what waits is counted from the first segment
    assert own.pending_bytes == 2 * 8 + len(b"first") + len(b"second")
    own.applied(own.end)  # the applier's next commit repairs it
    assert own.pending_bytes == 0
    own.close()
