"""Bounded hand-off from the receive loop to auth worker threads (blocking, DB-backed policies).

Under overload a request carrying State (a later round of an exchange already under way) is
worth more than a fresh one, so it goes first and may push out the oldest fresh request.
"""

import threading
from collections import deque


class RequestQueue:
    def __init__(self, limit: int):
        self._limit = limit
        self._fresh: deque = deque()
        self._continued: deque = deque()
        self._ready = threading.Condition(threading.Lock())
        self._closed = False

    def __len__(self) -> int:
        return len(self._fresh) + len(self._continued)

    def put(self, job, continued: bool) -> tuple[bool, object | None]:
        """Queue a job; returns (queued, displaced job or None)."""
        with self._ready:
            displaced = None
            if len(self._fresh) + len(self._continued) >= self._limit:
                if not continued or not self._fresh:
                    return False, None
                displaced = self._fresh.popleft()
            (self._continued if continued else self._fresh).append(job)
            self._ready.notify()
            return True, displaced

    def get(self):
        """Next job, State-carrying ones first; None once the queue is closed and empty."""
        with self._ready:
            while not self._continued and not self._fresh:
                if self._closed:
                    return None
                self._ready.wait()
            return (self._continued or self._fresh).popleft()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
