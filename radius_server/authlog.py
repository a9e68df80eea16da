"""Auth log writes off the hot path: the receive loop appends a COPY line, a thread ships them.

Every attempt is logged: rows wait in memory while the database is unreachable (up to a
bound, then the oldest are counted and dropped) and are written in order once it is back.
Each attempt is formatted once, as a line of COPY text, where it happens; the writer thread
only joins the lines and hands PostgreSQL one buffer per batch, so it holds the interpreter
for microseconds, not for a Python loop over thousands of rows (which the receive loop would
wait for). A line PostgreSQL refuses is found by halving the batch and dropped with a warning,
so one bad value never blocks the log.
The same thread applies the rare side writes of a login (MAC binding, NAS last-seen).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from itertools import islice

import psycopg
from django.db import connection

from radius_server.snapshot import connection_kwargs

log = logging.getLogger(__name__)

COLUMNS = ("created_at", "username", "subscriber_id", "organization_id", "nas_id", "nas_ip",
           "calling_station_id", "auth_method", "outcome", "reason")
COPY = f"COPY networking_authlog ({', '.join(COLUMNS)}) FROM STDIN"
MAX_BACKLOG = 1_000_000
LAST_SEEN_EVERY = 60.0
# COPY text format: backslash, tab and line breaks escaped; NUL cannot be stored at all
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_NULL = "\\N"
_second = [(0, "")]  # the last whole second and its text, replaced as one tuple


def _timestamp(moment: float) -> str:
    """UTC timestamp text for COPY; the seconds part is formatted once a second."""
    whole = int(moment)
    cached = _second[0]
    if cached[0] != whole:
        cached = _second[0] = (whole, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int((moment - whole) * 1_000_000):06d}+00"


def _text(value: str | None, limit: int) -> str:
    if not value:
        return ""
    value = value[:limit]
    # printable text holds no tab, line break or NUL: only a backslash could need escaping
    if value.isprintable() and "\\" not in value:
        return value
    return value.translate(_ESCAPE)


def _id(value: int | None) -> str:
    return _NULL if value is None else str(value)


def copy_line(created: float, username: str, subscriber_id, organization_id, nas_id, nas_ip,
              calling: str | None, method: str, outcome: str, reason: str) -> str:
    """One auth log row as a line of COPY text (the columns of COLUMNS)."""
    address = nas_ip.split("%", 1)[0] if nas_ip else ""  # no zone index in an inet
    return (f"{_timestamp(created)}\t{_text(username, 64)}\t{_id(subscriber_id)}\t"
            f"{_id(organization_id)}\t{_id(nas_id)}\t{address or _NULL}\t"
            f"{_text(calling, 64)}\t{_text(method, 10)}\t{_text(outcome, 6)}\t"
            f"{_text(reason, 48)}\n")


class AuthLogWriter(threading.Thread):
    def __init__(self, flush_interval: float = 0.2, max_batch: int = 20000):
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
        rows.append(copy_line(created, username, subscriber_id, organization_id, nas_id, nas_ip,
                              calling, method, outcome, reason))

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
            count = min(len(self.rows), self.max_batch)
            self._write(list(islice(self.rows, count)))
            for _ in range(count):
                self.rows.popleft()
            self.written += count

    def _write(self, lines: list[str]) -> None:
        """COPY ``lines`` (and NAS last-seen times) in one transaction; a line PostgreSQL
        refuses is found by halving and dropped, the others are written."""
        conn = self._connection()
        try:
            with conn.transaction(), conn.cursor() as cursor:
                if lines:
                    with cursor.copy(COPY) as copy:
                        copy.write("".join(lines).encode())
                self._write_last_seen(cursor)
        except psycopg.DataError as exc:
            if len(lines) == 1:
                self.dropped += 1
                log.warning("auth log row refused and dropped (%s): %r", exc, lines[0][:200])
                return
            half = len(lines) // 2
            self._write(lines[:half])
            self._write(lines[half:])

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
