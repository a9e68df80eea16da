"""The accounting spool's files: order across segments, torn tails, idle slots, positions."""

import os
import time

import pytest

from radius_server import spool as spooling


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
    writer = spooling.SpoolWriter(orphans[0], lambda bodies, sid, pos: applied.extend(bodies),
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
    writer = spooling.SpoolWriter(own, lambda bodies, sid, pos: applied.extend(bodies),
                                  lambda sid: stored, drain_and_exit=True)
    writer.start()
    writer.join(5)
    assert applied == ([b"one", b"two"] if stale else [b"two"])


def test_records_arriving_within_the_interval_are_applied_in_one_transaction(tmp_path):
    own, _ = _open(tmp_path)
    batches = []
    writer = spooling.SpoolWriter(own, lambda bodies, sid, pos: batches.append(list(bodies)),
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
