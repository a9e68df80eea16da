"""What the engine asks of the product: authorize, account, report health.

The engine owns the protocol (authenticators, Message-Authenticator, duplicates, MS-CHAPv2
success attributes); a policy owns the subscribers. Requests decode their attributes lazily,
so a policy pays only for the fields it reads.
"""

import hashlib
import hmac
import logging
import socket
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from . import constants as c
from . import mschap
from .attributes import AttributeCodec
from .clients import Client
from .crypto import chap_ok, decrypt_user_password
from .packet import Packet

log = logging.getLogger(__name__)


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _int(raw: bytes | None) -> int | None:
    return int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else None


def _ipv4(raw: bytes | None) -> str | None:
    return socket.inet_ntoa(raw) if raw is not None and len(raw) == 4 else None


def _ipv6(raw: bytes | None) -> str | None:
    return socket.inet_ntop(socket.AF_INET6, raw) if raw is not None and len(raw) == 16 else None


def _ipv6_prefix(raw: bytes | None) -> str | None:
    """RFC 3162 §2.3: reserved octet, prefix length, then only the significant octets."""
    if raw is None or not 2 <= len(raw) <= 18 or raw[1] > 128:
        return None
    address = socket.inet_ntop(socket.AF_INET6, raw[2:].ljust(16, b"\x00"))
    return f"{address}/{raw[1]}"


class AuthMethod(StrEnum):
    PAP = "pap"
    CHAP = "chap"
    MSCHAPV2 = "mschapv2"
    STATE = "state"  # only State: a later round of a multi-round exchange


class _Request:
    """Fields common to Access- and Accounting-Requests, decoded on first use."""

    __slots__ = ("_codec", "client", "packet", "received_at", "source")

    def __init__(
        self,
        packet: Packet,
        client: Client,
        source: tuple,
        received_at: float,
        codec: AttributeCodec,
    ):
        self.packet = packet
        self.client = client
        self.source = source
        self.received_at = received_at
        self._codec = codec

    @property
    def attributes(self) -> list[tuple[int, bytes]]:
        """Raw (type, value) pairs in wire order; Vendor-Specific values undecoded."""
        return self.packet.attributes

    def get_all(self, name: str) -> list[Any]:
        """Every value of a dictionary attribute, decoded, in order (e.g. Cisco-AVPair)."""
        definition = self._codec.definition(name)
        if definition.vendor:
            raws = self.packet.vendor_attributes(definition.vendor, definition.code)
        else:
            raws = self.packet.all(definition.code)
        values = []
        for raw in raws:
            try:
                values.append(self._codec.decode(definition, raw))
            except Exception:  # NAS data: a bad value is skipped, never fatal
                log.debug("undecodable %s from %s", name, self.source[0])
        return values

    def get(self, name: str, default: Any = None) -> Any:
        values = self.get_all(name)
        return values[0] if values else default

    @property
    def username(self) -> str | None:
        return _text(self.packet.first.get(c.USER_NAME))

    @property
    def nas_ip_address(self) -> str | None:
        return _ipv4(self.packet.first.get(c.NAS_IP_ADDRESS))

    @property
    def nas_ipv6_address(self) -> str | None:
        return _ipv6(self.packet.first.get(c.NAS_IPV6_ADDRESS))

    @property
    def nas_identifier(self) -> str | None:
        return _text(self.packet.first.get(c.NAS_IDENTIFIER))

    @property
    def nas_port(self) -> int | None:
        return _int(self.packet.first.get(c.NAS_PORT))

    @property
    def nas_port_id(self) -> str | None:
        return _text(self.packet.first.get(c.NAS_PORT_ID))

    @property
    def nas_port_type(self) -> int | None:
        return _int(self.packet.first.get(c.NAS_PORT_TYPE))

    @property
    def service_type(self) -> int | None:
        return _int(self.packet.first.get(c.SERVICE_TYPE))

    @property
    def calling_station_id(self) -> str | None:
        return _text(self.packet.first.get(c.CALLING_STATION_ID))

    @property
    def called_station_id(self) -> str | None:
        return _text(self.packet.first.get(c.CALLED_STATION_ID))

    @property
    def framed_ip_address(self) -> str | None:
        return _ipv4(self.packet.first.get(c.FRAMED_IP_ADDRESS))


class AccessRequest(_Request):
    """An Access-Request that passed the engine's checks, handed to ``Policy.authorize``."""

    __slots__ = ("_password", "auth_method", "mschap_success")

    def __init__(self, packet, client, source, received_at, codec, auth_method):
        self.packet = packet
        self.client = client
        self.source = source
        self.received_at = received_at
        self._codec = codec
        self.auth_method: AuthMethod = auth_method
        self._password: bytes | None = None
        self.mschap_success: mschap.MsChapV2Success | None = None

    @property
    def state(self) -> bytes | None:
        return self.packet.first.get(c.STATE)

    @property
    def pap_password(self) -> bytes | None:
        """The decrypted User-Password, for stores that keep only a password hash."""
        if self.auth_method is not AuthMethod.PAP:
            return None
        if self._password is None:
            self._password = decrypt_user_password(
                self.packet.first[c.USER_PASSWORD], self.client.secret, self.packet.authenticator
            )
        return self._password

    def verify_password(self, password: str | bytes) -> bool:
        """Check the subscriber's cleartext password against whatever the NAS sent.

        For MS-CHAPv2 a match also prepares MS-CHAP2-Success and the MPPE keys.
        """
        method = self.auth_method
        if method is AuthMethod.PAP:
            sent = self.pap_password
            if sent is None:
                return False
            return hmac.compare_digest(
                sent, password.encode() if isinstance(password, str) else password
            )
        if method is AuthMethod.CHAP:
            first = self.packet.first
            challenge = first.get(c.CHAP_CHALLENGE) or self.packet.authenticator
            secret = password.encode() if isinstance(password, str) else password
            return chap_ok(first[c.CHAP_PASSWORD], secret, challenge)
        if method is AuthMethod.MSCHAPV2:
            text = password.decode() if isinstance(password, bytes) else password
            return self._verify_mschapv2(mschap.nt_password_hash(text))
        return False

    def _verify_mschapv2(self, password_hash: bytes) -> bool:
        challenge = self.packet.vendor_attributes(c.VENDOR_MICROSOFT, c.MS_CHAP_CHALLENGE)[0]
        raw = self.packet.vendor_attributes(c.VENDOR_MICROSOFT, c.MS_CHAP2_RESPONSE)[0]
        response = mschap.MsChapV2Response.parse(raw)
        username = self.packet.first.get(c.USER_NAME, b"")
        self.mschap_success = mschap.verify(username, challenge, response, password_hash)
        return self.mschap_success is not None


class AccountingRequest(_Request):
    """An authenticated Accounting-Request, handed to ``Policy.account_batch``."""

    __slots__ = ()

    @property
    def status_type(self) -> int:
        return _int(self.packet.first.get(c.ACCT_STATUS_TYPE)) or 0

    @property
    def status(self) -> str:
        """Start, Stop, Interim-Update, Accounting-On, Accounting-Off, or the number."""
        code = self.status_type
        return self._codec.definition("Acct-Status-Type").names.get(code) or str(code)

    @property
    def session_id(self) -> str | None:
        return _text(self.packet.first.get(c.ACCT_SESSION_ID))

    @property
    def multi_session_id(self) -> str | None:
        return _text(self.packet.first.get(c.ACCT_MULTI_SESSION_ID))

    @property
    def unique_session_id(self) -> str:
        """FreeRADIUS ``acct_unique``: one id per session across NASes that reuse session ids.

        MD5 of "User-Name,Acct-Session-Id,NAS-IPv6-Address or NAS-IP-Address,NAS-Identifier,
        NAS-Port-Id,NAS-Port" with absent attributes as empty strings.
        """
        nas_port = self.nas_port
        parts = [
            self.username or "",
            self.session_id or "",
            self.nas_ipv6_address or self.nas_ip_address or "",
            self.nas_identifier or "",
            self.nas_port_id or "",
            "" if nas_port is None else str(nas_port),
        ]
        return hashlib.md5(",".join(parts).encode(), usedforsecurity=False).hexdigest()

    @property
    def session_time(self) -> int | None:
        return _int(self.packet.first.get(c.ACCT_SESSION_TIME))

    @property
    def delay_time(self) -> int:
        return _int(self.packet.first.get(c.ACCT_DELAY_TIME)) or 0

    @property
    def event_time(self) -> datetime:
        """Event-Timestamp if sent, else receive time minus Acct-Delay-Time (RFC 2869 §5.3)."""
        stamp = _int(self.packet.first.get(c.EVENT_TIMESTAMP))
        if stamp is None:
            return datetime.fromtimestamp(self.received_at - self.delay_time, UTC)
        return datetime.fromtimestamp(stamp, UTC)

    def _counter64(self, low: int, high: int) -> int | None:
        octets = _int(self.packet.first.get(low))
        if octets is None:
            return None
        return octets + ((_int(self.packet.first.get(high)) or 0) << 32)

    @property
    def input_octets(self) -> int | None:
        """Octets from the subscriber, 64-bit with Acct-Input-Gigawords (RFC 2869 §5.1)."""
        return self._counter64(c.ACCT_INPUT_OCTETS, c.ACCT_INPUT_GIGAWORDS)

    @property
    def output_octets(self) -> int | None:
        """Octets to the subscriber, 64-bit with Acct-Output-Gigawords (RFC 2869 §5.2)."""
        return self._counter64(c.ACCT_OUTPUT_OCTETS, c.ACCT_OUTPUT_GIGAWORDS)

    @property
    def input_packets(self) -> int | None:
        return _int(self.packet.first.get(c.ACCT_INPUT_PACKETS))

    @property
    def output_packets(self) -> int | None:
        return _int(self.packet.first.get(c.ACCT_OUTPUT_PACKETS))

    @property
    def terminate_cause(self) -> int | None:
        return _int(self.packet.first.get(c.ACCT_TERMINATE_CAUSE))

    @property
    def framed_ipv6_prefix(self) -> str | None:
        return _ipv6_prefix(self.packet.first.get(c.FRAMED_IPV6_PREFIX))

    @property
    def delegated_ipv6_prefix(self) -> str | None:
        return _ipv6_prefix(self.packet.first.get(c.DELEGATED_IPV6_PREFIX))

    @property
    def classes(self) -> list[bytes]:
        """Class values the NAS echoes from the Access-Accept (RFC 2865 §5.25)."""
        return self.packet.all(c.CLASS)


ReplyAttribute = tuple[str, Any]
"""(dictionary name, value); a name may carry a tag, e.g. ``("Tunnel-Type:1", "VLAN")``."""


class AuthDecision(NamedTuple):
    """Accept with reply attributes (repeatable, in order) or reject with a reason.

    The reason goes to the auth log, never to the NAS; ``reply_message`` does go to the NAS.
    (A NamedTuple: immutable and cheap to build once per request.)
    """

    accepted: bool
    attributes: Sequence[ReplyAttribute] = ()
    reason: str = ""
    reply_message: str | None = None

    @classmethod
    def accept(cls, attributes: Sequence[ReplyAttribute] = ()) -> "AuthDecision":
        return cls(True, attributes)

    @classmethod
    def reject(cls, reason: str, reply_message: str | None = None) -> "AuthDecision":
        return cls(False, (), reason, reply_message)


class Policy(ABC):
    """The product side of the server. Every method may be called from engine threads.

    ``authorize`` runs in the receive loop (or an auth worker thread when the server has
    ``auth_workers``); ``account_batch`` runs in an accounting thread (one by default; with
    ``accounting_workers`` > 1 each gets the records of its own sessions) with every request
    collected since that thread's previous batch, so one write can make them all durable.
    """

    @abstractmethod
    def authorize(self, request: AccessRequest) -> AuthDecision:
        """Decide on an Access-Request; use ``request.verify_password`` to check credentials."""

    def account(self, request: AccountingRequest) -> bool:
        """Store one accounting record durably; True only once it is stored."""
        return False

    def account_batch(self, requests: list[AccountingRequest]) -> list[bool]:
        """Store many records; the engine answers exactly those marked True (RFC 2866 §4.1)."""
        results = []
        for request in requests:
            try:
                results.append(self.account(request) is True)
            except Exception:
                log.exception("accounting store failed for session %s", request.session_id)
                results.append(False)
        return results

    def healthy(self) -> bool:
        """Status-Server probes this (RFC 5997 §4.3): False makes the server stay silent."""
        return True

    def engine_rejected(self, request: AccessRequest, reason: str) -> None:
        """The engine rejected a request before ``authorize`` (e.g. no NAS identification);
        called so that every attempt can reach the auth log."""
        log.debug("engine rejected %r from %s: %s", request.username, request.source[0], reason)
