"""Durable local accounting spool: an Accounting-Response is sent once the record is on disk.

Each server process owns one spool slot (a directory it holds an exclusive ``flock`` on) and
appends every accounting batch to the slot's current segment file with one ``write`` and
one ``fsync`` (group commit on a local file: well under a millisecond), then answers the
NAS. A writer thread reads the segments back in order and applies them to PostgreSQL in large
transactions; the position it reached is stored in the same transaction
(``radius_server_spoolmark``), so after a crash every record is applied exactly once: what
was spooled but not committed is replayed at the next start. While PostgreSQL is down the
spool grows; beyond ``max_bytes`` ``append`` refuses, the server stays silent and the NAS
retransmits, so nothing acknowledged is ever lost.

A frame is ``length, crc32, body``; a torn frame at the end of the last segment (a crash in
the middle of a write that was never acknowledged) is cut off at start-up. Slots left by
processes that no longer run (fewer ``--processes`` than before) are drained by whoever can
lock them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_FRAME = struct.Struct("!II")  # body length, crc32 of the body
SEGMENT_BYTES = 32 * 1024 * 1024
MAX_SLOTS = 64
_READ_CHUNK = 4 * 1024 * 1024


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` not yet applied: stop acknowledging accounting."""


def frame(body: bytes) -> bytes:
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


# The appended bytes and the file's new length: all an acknowledged record needs.
_sync_data = getattr(os, "fdatasync", os.fsync)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scan(data: bytes) -> tuple[list[bytes], int]:
    """Whole, intact frames from the start of ``data``, and where they end."""
    bodies, pos, end = [], 0, len(data)
    unpack = _FRAME.unpack_from
    while pos + 8 <= end:
        length, crc = unpack(data, pos)
        stop = pos + 8 + length
        if stop > end:
            break
        body = data[pos + 8:stop]
        if zlib.crc32(body) != crc:
            break
        bodies.append(body)
        pos = stop
    return bodies, pos


class Spool:
    """One slot: append (the owner only), read back from a position, forget applied segments."""

    def __init__(self, path: Path, lock_fd: int, *, max_bytes: int, segment_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock_fd = lock_fd
        self._append_lock = threading.Lock()
        self._changed = threading.Condition()
        id_file = path / "id"
        if not id_file.exists():
            tmp = path / "id.tmp"
            tmp.write_text(uuid.uuid4().hex)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            tmp.replace(id_file)
            _fsync_dir(path)
        self.id = id_file.read_text().strip()
        segments = self.segments()
        self._seq = segments[-1] if segments else 1
        self._fd = -1
        self._size = 0
        self._open_segment(self._seq, repair=True)
        self.end = (self._seq, self._size)  # everything before this is durable
        self.pending_bytes = sum(self._segment_size(s) for s in segments)  # refined by `applied`
        self.applied_at: tuple[int, int] | None = None

    # -------------------------------------------------------------- files

    def segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.path.glob("*.seg") if p.stem.isdigit())

    def _segment_path(self, seq: int) -> Path:
        return self.path / f"{seq:012d}.seg"

    def _segment_size(self, seq: int) -> int:
        try:
            return self._segment_path(seq).stat().st_size
        except FileNotFoundError:
            return 0

    def _open_segment(self, seq: int, repair: bool = False) -> None:
        path = self._segment_path(seq)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        size = os.fstat(fd).st_size
        if repair and size:
            with open(path, "rb") as handle:
                _bodies, good = _scan(handle.read())
            if good != size:  # a write the crash cut short; it was never acknowledged
                log.warning("accounting spool %s: cutting a torn record at %d of %d bytes",
                            path, good, size)
                os.ftruncate(fd, good)
                os.fsync(fd)
                size = good
        if created:
            os.fsync(fd)
            _fsync_dir(self.path)
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._seq, self._size = fd, seq, size

    # -------------------------------------------------------------- append (server thread)

    def append(self, bodies: list[bytes]) -> None:
        """Durably append ``bodies`` (one write, one fsync); raises SpoolFull or OSError."""
        data = b"".join(frame(body) for body in bodies)
        with self._append_lock:
            if self.pending_bytes + len(data) > self.max_bytes:
                raise SpoolFull(f"{self.pending_bytes} bytes wait to be applied")
            if self._size >= self.segment_bytes:
                self._open_segment(self._seq + 1)
            try:
                written = os.write(self._fd, data)
                if written != len(data):
                    raise OSError(f"short write to the accounting spool ({written} of "
                                  f"{len(data)})")
                _sync_data(self._fd)
            except OSError:  # a full disk or an I/O error: answer nothing, keep frames whole
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size)
                raise
            self._size += written
            with self._changed:
                self.pending_bytes += written
                self.end = (self._seq, self._size)
                self._changed.notify_all()

    # -------------------------------------------------------------- read back (writer thread)

    def wait(self, position: tuple[int, int], timeout: float) -> bool:
        """Wait until something durable lies beyond ``position``."""
        with self._changed:
            if self.end <= position:
                self._changed.wait(timeout)
            return self.end > position

    def read(self, position: tuple[int, int], max_records: int) -> tuple[list[bytes], tuple]:
        """Records after ``position`` (at most ``max_records``) and the position after them."""
        seq, offset = position
        end = self.end
        bodies: list[bytes] = []
        while len(bodies) < max_records and (seq, offset) < end:
            try:
                with open(self._segment_path(seq), "rb") as handle:
                    size = end[1] if seq == end[0] else os.fstat(handle.fileno()).st_size
                    handle.seek(offset)
                    data = handle.read(max(0, min(_READ_CHUNK, size - offset)))
            except FileNotFoundError:
                size, data = offset, b""
            found, used = _scan(data)
            room = max_records - len(bodies)
            if len(found) > room:
                found = found[:room]
                used = sum(8 + len(body) for body in found)
            bodies += found
            offset += used
            if len(bodies) >= max_records:
                break
            if offset < size and not found:
                log.error("accounting spool %s: unreadable data at %d of segment %d; skipping "
                          "the rest of the segment", self.path, offset, seq)
                offset = size
            if offset >= size:
                if seq == end[0]:
                    break
                seq, offset = self._next_segment(seq), 0
        return bodies, (seq, offset)

    def _next_segment(self, seq: int) -> int:
        later = [s for s in self.segments() if s > seq]
        return later[0] if later else self.end[0]

    def applied(self, position: tuple[int, int]) -> None:
        """Everything before ``position`` is committed: drop whole segments behind it."""
        for seq in [s for s in self.segments() if s < position[0]]:
            with contextlib.suppress(FileNotFoundError):
                self._segment_path(seq).unlink()
        with self._changed:  # no append can publish a new end meanwhile
            end = self.end
            # what still waits: the rest of the segment being read, and all later segments
            waiting = end[1] - position[1] if end[0] == position[0] else (
                self._segment_size(position[0]) - position[1]
                + sum(self._segment_size(s) for s in self.segments() if s > position[0]))
            self.pending_bytes = max(0, waiting)
            self.applied_at = position

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1


def _lock(path: Path) -> int | None:
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def open_spools(directory: str | os.PathLike, *, max_bytes: int,
                segment_bytes: int = SEGMENT_BYTES) -> tuple[Spool, list[Spool]]:
    """Lock a free slot for this process, plus every idle slot that still holds records."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    own: Spool | None = None
    orphans: list[Spool] = []
    for index in range(MAX_SLOTS):
        path = root / f"slot-{index}"
        if own is not None and not any(path.glob("*.seg")):
            continue
        fd = _lock(path)
        if fd is None:
            continue
        spool = Spool(path, fd, max_bytes=max_bytes, segment_bytes=segment_bytes)
        if own is None:
            own = spool
        elif spool.pending_bytes:
            orphans.append(spool)
        else:
            spool.close()
    if own is None:
        raise RuntimeError(f"no free accounting spool slot under {root}")
    return own, orphans


class SpoolWriter(threading.Thread):
    """Applies a spool to the database: ``apply(bodies, spool_id, position)`` commits the records
    and the new position in one transaction; ``start_position(spool_id)`` reads the stored one.

    Failures (PostgreSQL down) are retried with a growing pause; records stay spooled.
    """

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
        with self.spool._changed:
            self.spool._changed.notify_all()
        if self.is_alive():
            self.join(timeout)

    @property
    def idle(self) -> bool:
        """Everything durable in the spool has been applied."""
        return self._position is not None and self._position >= self.spool.end

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
                    self.spool.wait(self._position, 0.5)
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
