"""Requests of one NAS socket are spread over the server processes by the RADIUS packet, not by
the kernel's address hash: Access-Requests by their authenticator, accounting by session."""

import socket
import time

from radius_server.protocol import reuseport
from tests.radius.client import access_request, accounting_request


def _group(program, processes: int = 2) -> list[socket.socket]:
    """``processes`` sockets sharing one port, as the server's processes bind them."""
    sockets = []
    port = 0
    for _ in range(processes):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        port = sock.getsockname()[1]
        sock.setblocking(False)
        assert reuseport.attach(sock, program(processes))
        sockets.append(sock)
    return sockets


def _deliver(sockets, packets: list[bytes]) -> dict[bytes, int]:
    """Send each packet from ONE client socket; which group socket got which packet."""
    port = sockets[0].getsockname()[1]
    got: dict[bytes, int] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        for packet in packets:
            client.sendto(packet, ("127.0.0.1", port))
            deadline = time.monotonic() + 1
            while packet not in got and time.monotonic() < deadline:
                for index, sock in enumerate(sockets):
                    try:
                        got[sock.recv(4096)] = index
                    except BlockingIOError:
                        continue
    for sock in sockets:
        sock.close()
    return got


def test_access_requests_from_one_socket_reach_every_process():
    packets = [access_request(f"user{n}", password="secret") for n in range(200)]
    got = _deliver(_group(reuseport.access_program), packets)
    assert len(got) == 200
    assert {index for index in got.values()} == {0, 1}
    for packet, index in got.items():  # by the authenticator: a retransmission follows it
        assert index == packet[4] % 2


def test_records_of_one_session_stay_on_one_process_and_sessions_spread():
    packets, sessions = [], {}
    for n in range(60):
        session_id = f"81{n:06X}"
        for status in ("Start", "Interim-Update", "Stop"):
            packet = accounting_request(status, f"user{n}", session_id, session_time=60)
            packets.append(packet)
            sessions[packet] = session_id
    got = _deliver(_group(reuseport.accounting_program), packets)
    assert len(got) == len(packets)
    by_session: dict[str, set[int]] = {}
    for packet, index in got.items():
        by_session.setdefault(sessions[packet], set()).add(index)
    assert all(len(indexes) == 1 for indexes in by_session.values())
    assert {next(iter(i)) for i in by_session.values()} == {0, 1}


def test_a_packet_without_session_id_still_reaches_a_process():
    accounting_on = accounting_request("Accounting-On", "", "")
    got = _deliver(_group(reuseport.accounting_program), [accounting_on])
    assert list(got) == [accounting_on]
