"""Test shorthands over `radius_server.nas_client` (the NAS side of RADIUS), plus radclient."""

from __future__ import annotations

import subprocess

from radius_server import nas_client

SECRET = b"testing123"


def exchange(packet: bytes, port: int, timeout: float = 2.0):
    return nas_client.exchange(packet, ("127.0.0.1", port), SECRET, timeout)


def access_request(username: str, **kwargs) -> bytes:
    return nas_client.access_request(SECRET, username, **kwargs)


def accounting_request(status: str, username: str, session_id: str, **kwargs) -> bytes:
    return nas_client.accounting_request(SECRET, status, username, session_id, **kwargs)


def mschap2_success(reply) -> bytes | None:
    return reply.mschap2_success()


def radclient(port: int, kind: str, attributes: str) -> str:
    """Run Debian's radclient with one packet; returns what it printed."""
    result = subprocess.run(
        ["radclient", "-x", "-r", "2", "-t", "2", f"127.0.0.1:{port}", kind, "testing123"],
        input=attributes, capture_output=True, text=True, timeout=15,
    )
    return result.stdout + result.stderr
