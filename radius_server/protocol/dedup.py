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
        order = self._order
        order.append((now, key, entry))
        # Expire as we go, two for each one added: under load the cache never builds up a
        # half-second of entries for `sweep` to drop at once (a pause of milliseconds).
        horizon = now - self.lifetime
        for _ in range(2):
            if not order or order[0][0] >= horizon:
                break
            self._expire(order.popleft())
        return False, entry

    def sweep(self, now: float) -> None:
        """Drop every expired entry (the loop calls it when requests are few)."""
        horizon = now - self.lifetime
        order = self._order
        while order and order[0][0] < horizon:
            self._expire(order.popleft())

    def _expire(self, item: tuple[float, tuple, Entry]) -> None:
        _, key, entry = item
        if self._entries.get(key) is entry:
            del self._entries[key]
