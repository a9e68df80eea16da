"""The rows of a confirmed import, streamed to PostgreSQL while the file is still being read.

A COPY per batch made Python and PostgreSQL wait for each other: Python validated a batch while
the database idled, then the database inserted it (the table's indexes, the RADIUS notify
trigger) while Python waited. Here one COPY stays open and receives each valid row as soon as
it is checked, so on two cores the insert runs beside the validation of the next rows.

While the COPY is open the connection can run nothing else: `pause` ends it (a lookup the
resource did not preload), the next row starts another. Ids come from the table's sequence
before a COPY starts, so the audit rows can name them. The COPY runs in a savepoint: if it
fails, the transaction is still usable and the resource reports the error on the import,
which is then rolled back as a whole.
"""

from __future__ import annotations

from contextlib import ExitStack, suppress

from django.db import connection, transaction
from django.utils import timezone

from modules.subscribers.crypto import encrypt_passwords
from modules.subscribers.models import Subscriber

FLUSH_ROWS = 500  # passwords are encrypted per group; rows reach the socket per group


class SubscriberCopy:
    def __init__(self):
        self.fields = Subscriber._meta.concrete_fields
        self.columns = ", ".join(f'"{f.column}"' for f in self.fields)
        self.now = timezone.now()
        self.ids: list[int] = []
        self.pending: list[Subscriber] = []
        self.written: list[tuple[int, str]] = []  # (id, status) of each row sent
        self.error: Exception | None = None
        self._copy = None
        self._stack: ExitStack | None = None
        self._savepoint = None
        self._started = False

    def add(self, subscriber: Subscriber, remaining: int) -> None:
        """Queue a valid row; `remaining` counts it and the rows after it (ids to reserve)."""
        if self.error is not None:
            return
        self.pending.append(subscriber)
        if len(self.pending) >= FLUSH_ROWS:
            self._flush(len(self.pending) - 1 + remaining)

    def pause(self) -> None:
        """Send what is queued and end the COPY, so the connection can run a query."""
        if self.error is None and self.pending:
            self._flush(len(self.pending))
        self._end_copy()

    def finish(self) -> list[tuple[int, str]]:
        """End the stream; the (id, status) of every row written. Raises nothing: a failure
        is left in `error` (and the savepoint rolled back)."""
        self.pause()
        if self._savepoint is not None:
            if self.error is None:
                transaction.savepoint_commit(self._savepoint)
            else:
                transaction.savepoint_rollback(self._savepoint)
            self._savepoint = None
        return [] if self.error is not None else self.written

    def abort(self, exc: BaseException | None = None) -> None:
        """Give up (the import is failing): leave the connection usable for its rollback."""
        if self._stack is not None:
            stack, self._stack, self._copy = self._stack, None, None
            reason = exc or RuntimeError("import aborted")
            with suppress(Exception):  # the COPY is being cancelled on purpose
                stack.__exit__(type(reason), reason, None)
        if self._savepoint is not None:
            transaction.savepoint_rollback(self._savepoint)
            self._savepoint = None

    # -------------------------------------------------------------------------------------
    def _flush(self, needed: int) -> None:
        """Write the queued rows; a COPY that starts reserves `needed` ids."""
        batch, self.pending = self.pending, []
        try:
            if self._copy is None:
                self._start_copy(needed)
            tokens = encrypt_passwords([s.password_clear for s in batch])
            ids, self.ids = self.ids[: len(batch)], self.ids[len(batch) :]
            for subscriber, pk, token in zip(batch, ids, tokens, strict=True):
                subscriber.pk, subscriber.password_encrypted = pk, token
                subscriber.created_at = subscriber.updated_at = self.now
                subscriber._state.adding = False
                self._copy.write_row([getattr(subscriber, f.attname) for f in self.fields])
                self.written.append((pk, subscriber.status))
        except Exception as exc:
            self.error = exc
            self.abort(exc)

    def _start_copy(self, needed: int) -> None:
        if not self._started:
            self._started = True
            if connection.in_atomic_block:
                self._savepoint = transaction.savepoint()
        stack = ExitStack()
        cursor = stack.enter_context(connection.cursor())
        if len(self.ids) < needed:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('subscribers_subscriber', "
                "'id')) FROM generate_series(1, %s)",
                [needed - len(self.ids)],
            )
            self.ids += [pk for (pk,) in cursor.fetchall()]
        self._copy = stack.enter_context(
            cursor.copy(f"COPY subscribers_subscriber ({self.columns}) FROM STDIN")
        )
        self._stack = stack

    def _end_copy(self) -> None:
        if self._stack is None:
            return
        stack, self._stack, self._copy = self._stack, None, None
        try:
            stack.close()  # the server's verdict on the whole COPY arrives here
        except Exception as exc:
            self.error = exc
