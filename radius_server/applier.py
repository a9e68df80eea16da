"""Applying accounting spools to PostgreSQL, in a process of its own.

The receive loop of a server process only appends to its spool (`radius_server.spool`); a
`SpoolWriter` reads the spool back and commits it in large transactions. Run as a thread, its
bursts of Python (decoding thousands of records each apply interval) would hold the
interpreter while requests wait in the socket buffer; ``start_applier_process`` forks the
writers into a child process instead, so the server's loop keeps its core. The two share
nothing but the spool's files and its shared state mapping; the child dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from radius_server.spool import Spool

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}


class SpoolWriter(threading.Thread):
    """Applies a spool to the database: ``apply(bodies, spool_id, position)`` commits the records
    and the new position in one transaction; ``start_position(spool_id)`` reads the stored one.

    Failures (PostgreSQL down) are retried with a growing pause; records stay spooled.
    """

    poll_interval = 0.05  # how often an idle writer looks for new durable records

    def __init__(self, spool: Spool, apply: Callable[[list[bytes], str, tuple], None],
                 start_position: Callable[[str], tuple[int, int] | None], *,
                 max_records: int = 20000, drain_and_exit: bool = False,
                 min_interval: float = 0.2):
        super().__init__(name=f"radius-spool-{spool.path.name}", daemon=True)
        self.spool = spool
        self._apply = apply
        self._start_position = start_position
        self.max_records = max_records
        self.drain_and_exit = drain_and_exit
        # Under load, one transaction per interval rather than one per handful of records:
        # fewer statements and commits per record; acknowledged records are durable meanwhile.
        self.min_interval = min_interval
        self.applied_records = 0
        self.failures = 0
        self._stopping = threading.Event()
        self._position: tuple[int, int] | None = None

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    @property
    def idle(self) -> bool:
        """Everything durable in the spool has been applied."""
        return self.spool.settled()

    def run(self) -> None:
        pause = 0.2
        while True:
            try:
                if self._position is None:
                    self._position = self._first_position()
                    self.spool.applied(self._position)
                began = time.monotonic()
                applied = self._step()
                if not applied:
                    if self.drain_and_exit or self._stopping.is_set():
                        break
                    self._stopping.wait(self.poll_interval)
                elif applied < self.max_records and not self.drain_and_exit:
                    self._stopping.wait(self.min_interval - (time.monotonic() - began))
                pause = 0.2
            except Exception as exc:
                self.failures += 1
                self._position = None  # a COMMIT may have happened: ask the database again
                log.warning("accounting spool %s: applying failed (%s); %d bytes wait, "
                            "retrying in %.1f s", self.spool.path, exc, self.spool.pending_bytes,
                            pause)
                if self._stopping.wait(pause):
                    break
                pause = min(pause * 2, 5.0)
        if self.drain_and_exit and self.idle:
            for seq in self.spool.segments():
                with contextlib.suppress(FileNotFoundError):
                    self.spool._segment_path(seq).unlink()
            # segment numbers start again in this slot: it must not keep the old position
            (self.spool.path / "id").unlink(missing_ok=True)
            log.info("accounting spool %s drained", self.spool.path)
            self.spool.close()

    def _first_position(self) -> tuple[int, int]:
        stored = self._start_position(self.spool.id)
        segments = self.spool.segments()
        first = (segments[0], 0) if segments else self.spool.end
        if stored is None:
            return first
        seq, offset = stored
        if seq in segments and offset <= self.spool._segment_size(seq):
            return (seq, offset)
        if not segments or seq < segments[0]:
            return first  # the segments it covered are gone; the rest is new
        log.warning("accounting spool %s: stored position %s does not match its files; "
                    "applying all %d segments", self.spool.path, stored, len(segments))
        return first

    def _step(self) -> int:
        """Apply one batch; how many records it held (0: nothing was waiting)."""
        spool = self.spool
        bodies, position = spool.read(self._position, self.max_records)
        if position == self._position:
            return 0
        if bodies:
            self._apply(bodies, spool.id, position)
            self.applied_records += len(bodies)
        self._position = position
        spool.applied(position)
        return max(1, len(bodies))


class ApplierProcess:
    """The writers of a server process, run in a forked child.

    ``start`` must run before the parent starts threads and with no database connection open
    (the child opens its own). A watchdog thread waits for the child: if it ends while the
    parent still serves, ``on_failure`` is called, since acknowledged records would then
    pile up unapplied. The child exits when its parent asks (SIGUSR1, after its current
    batch) or, at once, when its parent dies; it ignores SIGTERM and SIGINT, which reach the
    whole process group when a supervisor stops the service or Ctrl-C is pressed: it stops
    after its server, not before.
    """

    def __init__(self, writers: list[SpoolWriter], on_failure: Callable[[int], None]):
        self.writers = writers
        self.on_failure = on_failure
        self.pid = 0
        self.exit_code: int | None = None
        self._stopping = False
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        parent = os.getpid()
        # no signal may reach the child before it has set its own handlers
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pid = os.fork()
        if pid == 0:
            _run_child(self.writers, parent, blocked)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.pid = pid
        self._watchdog = threading.Thread(target=self._watch, name="radius-spool-applier",
                                          daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        _pid, status = os.waitpid(self.pid, 0)
        self.exit_code = os.waitstatus_to_exitcode(status)
        if not self._stopping:
            log.error("accounting spool applier %d exited (%d) while the server runs",
                      self.pid, self.exit_code)
            self.on_failure(self.exit_code)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the applier finish its batch and exit (what it leaves stays spooled)."""
        if self._watchdog is None:
            return
        self._stopping = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)
        self._watchdog.join(timeout)
        if self._watchdog.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._watchdog.join()


def _run_child(writers: list[SpoolWriter], parent: int, mask: set) -> None:
    status = 0
    try:
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: stopping.set())
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _die_with(parent)
        for writer in writers:
            writer.start()
        while not stopping.wait(0.5) and os.getppid() == parent:
            pass
        for writer in writers:
            writer.stop()
    except BaseException:
        log.exception("accounting spool applier failed")
        status = 1
    finally:
        logging.shutdown()
        os._exit(status)


def _die_with(parent: int) -> None:
    """The kernel kills this process when its parent exits, however the parent ends: a slot's
    lock must not outlive the server that appends to it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent was already gone before the call
        os._exit(0)
