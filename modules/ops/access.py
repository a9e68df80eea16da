"""Who may read operational detail (metrics, health errors): trusted networks or a token."""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(request) -> str:
    """The peer address; behind a trusted proxy, the address that proxy saw.

    nginx appends its peer to X-Forwarded-For, so the last entry is the only one it vouches
    for; earlier entries come from the client and are ignored.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and _in(peer, settings.METRICS_TRUSTED_PROXIES):
        return forwarded.split(",")[-1].strip()
    return peer


def _in(address: str, entries) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(entries)))


def _token_ok(request) -> bool:
    expected = settings.METRICS_BEARER_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


def may_read_operations(request) -> bool:
    return _token_ok(request) or _in(client_address(request), settings.METRICS_ALLOWED_NETWORKS)
