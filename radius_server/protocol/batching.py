"""Group commit: items submitted from the receive loop are handed to ``handle(list)`` from one
background thread, so a store can write everything that arrived meanwhile in one transaction.
``PartitionedBatcher`` runs several such threads, each item going to the one its key picks, so
that commits overlap while items of one key (one session) stay in order.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class Batcher:
    """Collects items; the worker takes all that are waiting (at most ``max_batch``).

    With ``max_delay`` > 0 the worker waits that long after the first item for more to
    arrive; with 0 batches form naturally while the previous ``handle`` call runs.
    """

    def __init__(
        self,
        handle: Callable[[list], None],
        *,
        max_batch: int = 256,
        max_delay: float = 0.0,
        name: str = "batcher",
    ):
        self._handle = handle
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._items: deque = deque()
        self._wakeup = threading.Condition(threading.Lock())
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item) -> None:
        with self._wakeup:
            self._items.append(item)
            if len(self._items) == 1:
                self._wakeup.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Handle what is queued, then end the thread."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        items = self._items
        while True:
            with self._wakeup:
                while not items and not self._stopping:
                    self._wakeup.wait()
                if not items:
                    return
            if self._max_delay and len(items) < self._max_batch and not self._stopping:
                time.sleep(self._max_delay)
            with self._wakeup:
                count = min(len(items), self._max_batch)
                batch = [items.popleft() for _ in range(count)]
            try:
                self._handle(batch)
            except Exception:
                log.exception("batch handler failed for %d items", len(batch))


class PartitionedBatcher:
    """``workers`` Batchers; ``key(item)`` (None: the first) chooses one, stably."""

    def __init__(self, handle: Callable[[list], None], *, workers: int,
                 key: Callable[[object], object], name: str = "batcher", **options):
        self._key = key
        self._batchers = [Batcher(handle, name=f"{name}-{index}", **options)
                          for index in range(max(1, workers))]

    def start(self) -> None:
        for batcher in self._batchers:
            batcher.start()

    def submit(self, item) -> None:
        key = self._key(item)
        index = 0 if key is None else hash(key) % len(self._batchers)
        self._batchers[index].submit(item)

    def stop(self, timeout: float = 5.0) -> None:
        for batcher in self._batchers:
            batcher.stop(timeout)
