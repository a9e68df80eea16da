"""A NAS's dynamic-authorization listener for tests and demos.

It checks each CoA/Disconnect request the way a NAS must (request authenticator, MA), records
what it got, and answers ACK, or NAK with a configured Error-Cause. It can stay silent for the
first packets to exercise retransmission.
"""

import socket
import struct
import threading
from dataclasses import dataclass, field

from . import constants as c
from .crypto import message_authenticator_ok, request_authenticator_ok
from .packet import Packet, decode, encode_reply


@dataclass
class NasEmulator:
    secret: bytes
    host: str = "127.0.0.1"
    port: int = 0
    nak_error_cause: int | None = None  # None answers ACK
    ignore_first: int = 0  # stay silent for this many valid requests
    require_message_authenticator: bool = False
    received: list[Packet] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, self.port))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._running = False
        self._thread = threading.Thread(target=self._serve, name="nas-emulator", daemon=True)

    def __enter__(self) -> "NasEmulator":
        self._running = True
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._running = False
        self._thread.join(2)
        self._sock.close()

    def _serve(self) -> None:
        while self._running:
            try:
                data, source = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            reply = self._answer(data)
            if reply is not None:
                self._sock.sendto(reply, source)

    def _answer(self, data: bytes) -> bytes | None:
        packet = decode(data)
        if isinstance(packet, str):
            self.invalid.append(packet)
            return None
        if packet.code not in (c.DISCONNECT_REQUEST, c.COA_REQUEST):
            self.invalid.append("unexpected_code")
            return None
        if not request_authenticator_ok(packet.data, self.secret):
            self.invalid.append("bad_request_authenticator")
            return None
        if packet.ma_offset >= 0:
            if not message_authenticator_ok(
                packet.data, packet.ma_offset, self.secret, c.ZERO_AUTHENTICATOR
            ):
                self.invalid.append("bad_message_authenticator")
                return None
        elif self.require_message_authenticator:
            self.invalid.append("missing_message_authenticator")
            return None
        self.received.append(packet)
        if len(self.received) <= self.ignore_first:
            return None
        if self.nak_error_cause is None:
            code, attributes = packet.code + 1, b""
        else:
            code = packet.code + 2
            attributes = struct.pack("!BBI", c.ERROR_CAUSE, 6, self.nak_error_cause)
        return encode_reply(
            code,
            packet,
            self.secret,
            attributes + packet.proxy_states(),
            with_message_authenticator=True,
        )
