"""Duplicate detection (RFC 5080 §2.2.2): a retransmission gets the same reply, not a rerun.

A request is identified by (receiving socket, source IP, source port, Identifier) and its
Request Authenticator. Only requests that passed authentication checks reach this cache,
so a forged packet can neither poison nor purge it.
"""

from collections import deque


class Entry:
    """One request in flight or answered; ``reply`` stays None until the reply is sent."""

    __slots__ = ("authenticator", "created", "reply")

    def __init__(self, authenticator: bytes, created: float):
        self.authenticator = authenticator
        self.created = created
        self.reply: bytes | None = None

    def forget(self) -> None:
        """No reply was sent: a retransmission must be processed afresh, not dropped."""
        self.authenticator = b""


class DuplicateCache:
    """Entries live ``lifetime`` seconds (FreeRADIUS cleanup_delay is 5 s)."""

    def __init__(self, lifetime: float = 5.0):
        self.lifetime = lifetime
        self._entries: dict[tuple, Entry] = {}
        self._order: deque[tuple[float, tuple, Entry]] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, key: tuple, authenticator: bytes, now: float) -> tuple[bool, Entry]:
        """(True, entry) for a duplicate of a live entry, else (False, new entry).

        A same-key packet with another authenticator is a new request: it replaces the
        old entry (RFC 5080 §2.2.2).
        """
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.authenticator == authenticator
            and now - entry.created < self.lifetime
        ):
            return True, entry
        entry = Entry(authenticator, now)
        self._entries[key] = entry
        self._order.append((now, key, entry))
        return False, entry

    def sweep(self, now: float) -> None:
        horizon = now - self.lifetime
        order = self._order
        entries = self._entries
        while order and order[0][0] < horizon:
            _, key, entry = order.popleft()
            if entries.get(key) is entry:
                del entries[key]
