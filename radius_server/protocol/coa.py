"""Dynamic authorization client (RFC 5176): Disconnect-Request and CoA-Request to a NAS.

Used when an operator disconnects a subscriber, a plan changes, or a subscription expires.
A request is retransmitted unchanged (same Identifier and authenticator) until the NAS answers
with a correctly signed ACK or NAK, or the attempts run out.
"""

import ipaddress
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import constants as c
from .attributes import AttributeCodec
from .crypto import message_authenticator_ok, response_authenticator, sign_request
from .packet import decode
from .policy import ReplyAttribute

_ACKS = {c.DISCONNECT_REQUEST: c.DISCONNECT_ACK, c.COA_REQUEST: c.COA_ACK}
_NAKS = {c.DISCONNECT_REQUEST: c.DISCONNECT_NAK, c.COA_REQUEST: c.COA_NAK}


@dataclass(frozen=True)
class CoaResult:
    """The NAS's answer; ``code`` is None when no valid answer came back."""

    acked: bool
    code: int | None
    attempts: int
    error_cause: int | None = None
    error_cause_name: str | None = None
    attributes: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return self.code is None


class CoaClient:
    """Talks to one NAS's dynamic authorization port (3799 by default, RFC 5176 §3)."""

    def __init__(
        self,
        nas_address: str,
        secret: bytes | str,
        *,
        port: int = 3799,
        timeout: float = 2.0,
        attempts: int = 3,
        require_message_authenticator: bool = False,
        codec: AttributeCodec | None = None,
    ):
        self.nas_address = nas_address
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.port = port
        self.timeout = timeout
        self.attempts = attempts
        self.require_message_authenticator = require_message_authenticator
        self.codec = codec or AttributeCodec()

    def disconnect(self, **identity) -> CoaResult:
        """Disconnect-Request carrying only NAS and session identification (RFC 5176 §3).

        Keywords: user_name, acct_session_id, framed_ip_address, calling_station_id,
        nas_ip_address, nas_identifier.
        """
        return self.send(self.build(c.DISCONNECT_REQUEST, **identity))

    def change(self, attributes: Sequence[ReplyAttribute], **identity) -> CoaResult:
        """CoA-Request: identification plus the new authorization attributes."""
        return self.send(self.build(c.COA_REQUEST, attributes, **identity))

    def build(
        self,
        code: int,
        attributes: Sequence[ReplyAttribute] = (),
        *,
        user_name: str | None = None,
        acct_session_id: str | None = None,
        framed_ip_address: str | None = None,
        calling_station_id: str | None = None,
        nas_ip_address: str | None = None,
        nas_identifier: str | None = None,
        ident: int | None = None,
    ) -> bytes:
        """A signed request: MA first, identification, Event-Timestamp (replay protection,
        RFC 5176 §6.1), then ``attributes``; authenticator over 16 zero octets."""
        _check_authorize_only(attributes)
        if nas_ip_address is None and nas_identifier is None:
            nas_ip_address = _ipv4_or_none(self.nas_address)
        identification = [
            ("NAS-IP-Address", nas_ip_address),
            ("NAS-Identifier", nas_identifier),
            ("User-Name", user_name),
            ("Acct-Session-Id", acct_session_id),
            ("Framed-IP-Address", framed_ip_address),
            ("Calling-Station-Id", calling_station_id),
            ("Event-Timestamp", int(time.time())),
        ]
        body = bytes([c.MESSAGE_AUTHENTICATOR, 18]) + c.ZERO_AUTHENTICATOR
        body += b"".join(self.codec.encode(n, v) for n, v in identification if v is not None)
        body += b"".join(self.codec.encode(n, v) for n, v in attributes)
        length = c.HEADER_LENGTH + len(body)
        if length > c.MAX_PACKET_LENGTH:
            raise ValueError("request longer than 4096 octets")
        ident = os.urandom(1)[0] if ident is None else ident
        packet = bytearray(bytes([code, ident]) + length.to_bytes(2, "big"))
        packet += c.ZERO_AUTHENTICATOR + body
        sign_request(packet, self.secret, c.HEADER_LENGTH + 2)
        return bytes(packet)

    def send(self, request: bytes) -> CoaResult:
        """Send and retransmit the same octets until a valid answer or ``attempts`` run out."""
        family = socket.AF_INET6 if ":" in self.nas_address else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((self.nas_address, self.port))
            for attempt in range(1, self.attempts + 1):
                sock.send(request)
                deadline = time.monotonic() + self.timeout
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    try:
                        answer = sock.recv(65535)
                    except TimeoutError:
                        break
                    except ConnectionRefusedError:  # ICMP port unreachable: wait out the try
                        time.sleep(max(0.0, deadline - time.monotonic()))
                        break
                    result = self._result(request, answer, attempt)
                    if result is not None:
                        return result
        return CoaResult(acked=False, code=None, attempts=self.attempts)

    def _result(self, request: bytes, answer: bytes, attempt: int) -> CoaResult | None:
        """A CoaResult for a valid answer to ``request``; None for anything else."""
        packet = decode(answer)
        if isinstance(packet, str) or packet.ident != request[1]:
            return None
        if packet.code not in (_ACKS[request[0]], _NAKS[request[0]]):
            return None
        expected = response_authenticator(packet.data, request[4:20], self.secret)
        if expected != packet.authenticator:
            return None
        if packet.ma_offset >= 0:
            if not message_authenticator_ok(
                packet.data, packet.ma_offset, self.secret, request[4:20]
            ):
                return None
        elif self.require_message_authenticator:
            return None
        cause_raw = packet.first.get(c.ERROR_CAUSE)
        cause = int.from_bytes(cause_raw, "big") if cause_raw and len(cause_raw) == 4 else None
        cause_name = self.codec.definition("Error-Cause").names.get(cause)
        return CoaResult(
            acked=packet.code == _ACKS[request[0]],
            code=packet.code,
            attempts=attempt,
            error_cause=cause,
            error_cause_name=cause_name,
            attributes=packet.attributes,
        )


def _ipv4_or_none(address: str) -> str | None:
    try:
        return address if ipaddress.ip_address(address).version == 4 else None
    except ValueError:
        return None


def _check_authorize_only(attributes: Sequence[ReplyAttribute]) -> None:
    """RFC 5176 §3.2: a Service-Type=Authorize-Only CoA must carry State."""
    names = {name for name, _ in attributes}
    authorize_only = any(
        name == "Service-Type" and value in ("Authorize-Only", c.SERVICE_TYPE_AUTHORIZE_ONLY)
        for name, value in attributes
    )
    if authorize_only and "State" not in names:
        raise ValueError("a Service-Type=Authorize-Only CoA-Request must include State")
