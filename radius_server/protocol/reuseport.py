"""Spread one NAS's requests over all server processes (Linux SO_ATTACH_REUSEPORT_CBPF).

By default the kernel picks a process of a SO_REUSEPORT group by hashing the datagram's
addresses and ports, so a NAS that sends from one socket (MikroTik, most BRAS) is served by
one process however many cores there are. A small classic-BPF program attached to the group
picks the process from the RADIUS packet instead:

- Access-Requests by the first byte of the Request Authenticator (random per request, the
  same on a retransmission, so duplicate detection still sees both copies);
- Accounting-Requests by the last two bytes of Acct-Session-Id (the records of one session
  stay on one process, in order); a packet without one falls back to the kernel's hash.

The program runs on the UDP payload (the kernel has pulled the UDP header). An index beyond the
group's sockets (fewer processes running than expected) also falls back to the hash.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct

log = logging.getLogger(__name__)

SO_ATTACH_REUSEPORT_CBPF = 51

# classic BPF opcodes (linux/filter.h)
_LD_B_ABS = 0x30
_LD_B_IND = 0x50
_LD_H_IND = 0x48
_LDX_IMM = 0x01
_ADD_X = 0x0C
_SUB_K = 0x14
_MOD_K = 0x94
_JEQ_K = 0x15
_TAX = 0x07
_RET_A = 0x16
_RET_K = 0x06

_INSTRUCTION = struct.Struct("=HBBI")
_FALLBACK = 0xFFFFFFFF  # beyond every group: the kernel's own hash decides
_ATTRIBUTE_HOPS = 32  # attributes looked at before Acct-Session-Id counts as missing
_ACCT_SESSION_ID = 44
_FIRST_ATTRIBUTE = 20


def access_program(processes: int) -> list[tuple[int, int, int, int]]:
    """Socket index = Request Authenticator's first byte mod processes."""
    return [(_LD_B_ABS, 0, 0, 4), (_MOD_K, 0, 0, processes), (_RET_A, 0, 0, 0)]


def accounting_program(processes: int) -> list[tuple[int, int, int, int]]:
    """Socket index = last two bytes of Acct-Session-Id mod processes: walk the attributes
    (unrolled, as classic BPF has no loops) until type 44."""
    hop = 5
    program = [(_LDX_IMM, 0, 0, _FIRST_ATTRIBUTE)]
    for index in range(_ATTRIBUTE_HOPS):
        to_found = (_ATTRIBUTE_HOPS - index) * hop - 2 + 1  # past the rest and the fallback
        program += [
            (_LD_B_IND, 0, 0, 0),  # A = type
            (_JEQ_K, to_found, 0, _ACCT_SESSION_ID),
            (_LD_B_IND, 0, 0, 1),  # A = length
            (_ADD_X, 0, 0, 0),  # A = X + length: the next attribute
            (_TAX, 0, 0, 0),
        ]
    program += [
        (_RET_K, 0, 0, _FALLBACK),
        # found: X points at Acct-Session-Id
        (_LD_B_IND, 0, 0, 1),
        (_ADD_X, 0, 0, 0),
        (_SUB_K, 0, 0, 2),
        (_TAX, 0, 0, 0),
        (_LD_H_IND, 0, 0, 0),  # A = its last two bytes
        (_MOD_K, 0, 0, processes),
        (_RET_A, 0, 0, 0),
    ]
    return program


def attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> bool:
    """Attach ``program`` to the socket's reuseport group; False where the kernel refuses."""
    code = b"".join(_INSTRUCTION.pack(*instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
    except OSError as exc:
        log.warning("cannot steer requests over processes (%s); the kernel's hash decides", exc)
        return False
    return True
