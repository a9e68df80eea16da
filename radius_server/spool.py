"""Durable local accounting spool: an Accounting-Response is sent once the record is on disk.

Each server process owns one spool slot (a directory it holds an exclusive ``flock`` on) and
appends every accounting batch to the slot's current segment file with one ``write`` and
one ``fdatasync`` (group commit on a local file: well under a millisecond), then answers the
NAS. An applier (`radius_server.applier`, in a process of its own) reads the segments back in
order and applies them to PostgreSQL in large transactions; the position it reached is stored
in the same transaction (``radius_server_spoolmark``), so after a crash every record is applied
exactly once: what was spooled but not committed is replayed at the next start. While
PostgreSQL is down the spool grows; beyond ``max_bytes`` ``append`` refuses, the server stays
silent and the NAS retransmits, so nothing acknowledged is ever lost.

The owner and the applier share two positions through a small shared memory mapping, which the
forked applier inherits: the durable end (published after each ``fdatasync``, so nothing is
applied that a power cut could still take back) and the applied position (from which the owner
knows how much waits). Both are found again at start (from the files and from PostgreSQL), so
the mapping is anonymous: a mapped file would make each publish wait for the page's writeback.

A frame is ``length, crc32, body``; a torn frame at the end of the last segment (a crash in
the middle of a write that was never acknowledged) is cut off at start-up. Slots left by
processes that no longer run (fewer ``--processes`` than before) are drained by whoever can
lock them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

_FRAME = struct.Struct("!II")  # body length, crc32 of the body
# A position shared through the state mapping: segment, offset, crc32 of the two (a reader
# retries the moment it sees a half-written one).
_POSITION = struct.Struct("!QQI")
_END_AT, _APPLIED_AT, _STATE_BYTES = 0, 32, 64
_POSITION_READS = 1000  # a write in progress takes microseconds; a torn one is never finished
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
    """One slot: append (the owner only), read back from a position, forget applied segments.

    The object is shared with the applier by ``fork``: the positions both need live in the
    shared state mapping, everything else is either the owner's or derived from the files.
    """

    def __init__(self, path: Path, lock_fd: int, *, max_bytes: int, segment_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock_fd = lock_fd
        self._append_lock = threading.Lock()
        id_file = path / "id"
        if not id_file.exists():
            tmp = path / "id.tmp"
            tmp.write_text(uuid.uuid4().hex)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            tmp.replace(id_file)
            _fsync_dir(path)
        self.id = id_file.read_text().strip()
        (path / "state").unlink(missing_ok=True)  # kept on disk by earlier versions
        self._state = mmap.mmap(-1, _STATE_BYTES, flags=mmap.MAP_SHARED)
        self._sizes: dict[int, int] = {}  # sizes of full segments, which never change again
        segments = self.segments()
        self._seq = segments[-1] if segments else 1
        self._first = segments[0] if segments else self._seq
        self._fd = -1
        self._size = 0
        self._open_segment(self._seq, repair=True)
        self._publish(_APPLIED_AT, (0, 0))  # nothing known yet: the applier asks the database
        self._publish(_END_AT, (self._seq, self._size))

    # -------------------------------------------------------------- shared positions

    def _publish(self, at: int, position: tuple[int, int]) -> None:
        packed = _POSITION.pack(*position, 0)
        _POSITION.pack_into(self._state, at, *position, zlib.crc32(packed[:16]))

    def _position(self, at: int) -> tuple[int, int]:
        """The position at ``at``; (0, 0), "not known", if it stays unreadable: its writer
        died in the middle of writing it (the next write or the next start repairs it)."""
        state = self._state
        for _ in range(_POSITION_READS):
            seq, offset, crc = _POSITION.unpack_from(state, at)
            if zlib.crc32(state[at:at + 16]) == crc:
                return (seq, offset)
            time.sleep(0)  # the other process is in the middle of writing it
        return (0, 0)

    @property
    def end(self) -> tuple[int, int]:
        """Everything before this is durable (fsynced)."""
        return self._position(_END_AT)

    @property
    def applied_at(self) -> tuple[int, int] | None:
        """Everything before this is committed to PostgreSQL (None: not known yet)."""
        position = self._position(_APPLIED_AT)
        return None if position == (0, 0) else position

    def settled(self) -> bool:
        """Everything durable has been applied."""
        applied = self.applied_at
        return applied is not None and applied >= self.end

    @property
    def pending_bytes(self) -> int:
        """Durable bytes not yet applied."""
        end = self.end
        seq, offset = self.applied_at or (self._first, 0)
        if (seq, offset) >= end:
            return 0
        if seq == end[0]:
            return end[1] - offset
        return (self._full_size(seq) - offset + end[1]
                + sum(self._full_size(s) for s in range(seq + 1, end[0])))

    def _full_size(self, seq: int) -> int:
        size = self._sizes.get(seq)
        if size is None:
            size = self._sizes[seq] = self._segment_size(seq)
        return size

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
            self._sizes[self._seq] = self._size
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
            self._publish(_END_AT, (self._seq, self._size))

    # -------------------------------------------------------------- read back (applier)

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
        self._publish(_APPLIED_AT, position)

    def close(self) -> None:
        """Release the files and the slot's lock (the mapped state stays readable)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock once no other process holds it
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
