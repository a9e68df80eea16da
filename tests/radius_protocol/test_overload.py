"""Auth workers under overload: bounded queue, State first, stale requests dropped (item 42)."""

import threading
import time

from radius_server.protocol.batching import Batcher, PartitionedBatcher
from radius_server.protocol.workqueue import RequestQueue

from .helpers import Nas, attr, check_reply, pap_request, wait_for


def test_queue_prefers_requests_with_state():
    queue = RequestQueue(limit=2)
    assert queue.put("fresh-1", continued=False) == (True, None)
    assert queue.put("fresh-2", continued=False) == (True, None)
    assert queue.put("fresh-3", continued=False) == (False, None)
    assert queue.put("state-1", continued=True) == (True, "fresh-1")
    assert [queue.get(), queue.get()] == ["state-1", "fresh-2"]
    queue.close()
    assert queue.get() is None


def test_full_queue_sheds_fresh_requests_and_keeps_state(make_server, policy):
    policy.gate = threading.Event()
    server = make_server(policy, auth_workers=1, max_queue=2)
    nas = Nas(server.auth_address)
    try:
        first = pap_request("alice", "wonderland", ident=1)
        nas.send(first)
        assert wait_for(lambda: len(policy.authorized) == 1)  # the worker is busy with it
        nas.send(pap_request("alice", "wonderland", ident=2))
        nas.send(pap_request("alice", "wonderland", ident=3))
        nas.send(pap_request("alice", "wonderland", ident=4))
        nas.send(pap_request("alice", "wonderland", ident=5, extra=attr(24, b"round-2")))
        # ident 4 finds the queue full and is shed; ident 5 carries State and displaces ident 2
        assert wait_for(lambda: server.counters.drops.get("overload_displaced") == 1)
        assert server.counters.drops.get("overload") == 1
        policy.gate.set()
        idents = []
        while (reply := nas.receive(timeout=0.5)) is not None:
            idents.append(reply[1])
        assert idents == [1, 5, 3]
    finally:
        nas.close()


def test_requests_older_than_max_request_time_are_dropped(make_server, policy):
    policy.gate = threading.Event()
    server = make_server(policy, auth_workers=1, max_request_time=0.2)
    nas = Nas(server.auth_address)
    try:
        nas.send(pap_request("alice", "wonderland", ident=1))
        assert wait_for(lambda: len(policy.authorized) == 1)
        stale = pap_request("alice", "wonderland", ident=2)
        nas.send(stale)
        time.sleep(0.3)
        policy.gate.set()
        assert wait_for(lambda: server.counters.drops.get("request_timeout") == 1)
        assert nas.receive()[1] == 1
        assert nas.receive(timeout=0.1) is None
        assert check_reply(nas.exchange(stale), stale)[0] == 2  # a retransmission is served
    finally:
        nas.close()


def test_batcher_collects_items_within_its_delay_and_drains_on_stop():
    batches = []
    batcher = Batcher(batches.append, max_batch=10, max_delay=0.05)
    batcher.start()
    for item in range(5):
        batcher.submit(item)
    assert wait_for(lambda: batches == [[0, 1, 2, 3, 4]])
    for item in range(25):
        batcher.submit(item)
    batcher.stop()
    assert [len(batch) for batch in batches[1:]] == [10, 10, 5]


def test_partitioned_batcher_keeps_each_session_in_order_on_one_worker():
    seen = []  # (worker thread, item)

    def handle(batch):
        time.sleep(0.01)  # a commit: the other workers go on meanwhile
        seen.extend((threading.current_thread().name, item) for item in batch)

    batcher = PartitionedBatcher(handle, workers=4, key=lambda item: item[0], max_batch=8,
                                 name="acct")
    batcher.start()
    items = [(f"session-{n % 10}", n) for n in range(200)] + [(None, "accounting-on")]
    for item in items:
        batcher.submit(item)
    batcher.stop()
    assert sorted(item[1] for _thread, item in seen if item[0]) == list(range(200))
    for session in {item[0] for item in items if item[0]}:
        mine = [(thread, item[1]) for thread, item in seen if item[0] == session]
        assert len({thread for thread, _n in mine}) == 1  # one worker per session
        assert [n for _thread, n in mine] == sorted(n for _thread, n in mine)  # in order
    assert len({thread for thread, _item in seen}) > 1  # the load was spread
    assert ("acct-0", (None, "accounting-on")) in seen
