"""Auth log writes off the hot path: the receive loop appends a tuple, a thread COPYs batches.

Every attempt is logged: rows wait in memory while the database is unreachable (up to a
bound, then the oldest are counted and dropped) and are written in order once it is back.
The same thread applies the rare side writes of a login (MAC binding, NAS last-seen).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

import psycopg
from django.db import connection

from radius_server.snapshot import connection_kwargs

log = logging.getLogger(__name__)

COLUMNS = ("created_at", "username", "subscriber_id", "organization_id", "nas_id", "nas_ip",
           "calling_station_id", "auth_method", "outcome", "reason")
MAX_BACKLOG = 1_000_000
LAST_SEEN_EVERY = 60.0


class AuthLogWriter(threading.Thread):
    def __init__(self, flush_interval: float = 0.2, max_batch: int = 5000):
        super().__init__(name="radius-authlog", daemon=True)
        self.rows: deque = deque()
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.macs: deque = deque()
        self.nas_seen: dict[int, float] = {}
        self._nas_written: dict[int, float] = {}
        self.dropped = 0
        self.written = 0
        self._stopping = threading.Event()
        self._conn: psycopg.Connection | None = None

    def add(self, created: float, username: str, subscriber_id, organization_id, nas_id, nas_ip,
            calling: str, method: str, outcome: str, reason: str) -> None:
        rows = self.rows
        if len(rows) >= MAX_BACKLOG:
            rows.popleft()
            self.dropped += 1
        rows.append((created, username[:64], subscriber_id, organization_id, nas_id, nas_ip,
                     (calling or "")[:64], method, outcome, reason[:48]))

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while True:
            stopping = self._stopping.wait(self.flush_interval)
            try:
                self.flush()
            except Exception as exc:
                log.warning("auth log write failed (%s); %d rows wait", exc, len(self.rows))
                self._close()
                connection.close()
                if stopping:
                    return
                self._stopping.wait(1.0)
                continue
            if stopping:
                return

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(**connection_kwargs(), connect_timeout=3)
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # it is broken already
                self._conn.close()
            self._conn = None

    def flush(self) -> None:
        """Write everything queued (batch by batch); rows leave the queue only once committed."""
        while self.macs:
            from modules.networking.services import bind_mac

            subscriber_id, mac = self.macs[0]
            bind_mac(subscriber_id, mac)
            self.macs.popleft()
        while self.rows or self._due_last_seen():
            conn = self._connection()
            count = min(len(self.rows), self.max_batch)
            batch = [self.rows[i] for i in range(count)]
            with conn.transaction(), conn.cursor() as cursor:
                if batch:
                    with cursor.copy(f"COPY networking_authlog ({', '.join(COLUMNS)}) "
                                     "FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row((datetime.fromtimestamp(row[0], UTC), *row[1:]))
                self._write_last_seen(cursor)
            for _ in range(count):
                self.rows.popleft()
            self.written += count

    def _due_last_seen(self) -> bool:
        return any(seen - self._nas_written.get(pk, 0) > LAST_SEEN_EVERY
                   for pk, seen in self.nas_seen.items())

    def _write_last_seen(self, cursor) -> None:
        due = [(pk, seen) for pk, seen in list(self.nas_seen.items())
               if seen - self._nas_written.get(pk, 0) > LAST_SEEN_EVERY]
        for pk, seen in due:
            cursor.execute("UPDATE networking_nasdevice SET last_seen_at = %s WHERE id = %s",
                           (datetime.fromtimestamp(seen, UTC), pk))
            self._nas_written[pk] = seen

    def wait_empty(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.rows and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.rows
