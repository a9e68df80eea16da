"""Parsing of pool definitions: CIDRs and ranges, one per line (commas also separate)."""

from __future__ import annotations

import ipaddress
import re

_SPLIT = re.compile(r"[\s,;]+")


def parse_ipv4_ranges(text: str) -> set[int]:
    """The usable addresses (as integers) named by `text`.

    A CIDR of /30 or wider loses its network and broadcast address; a range `a-b` is taken
    as written (inclusive). Raises ValueError with the offending item.
    """
    addresses: set[int] = set()
    for item in filter(None, _SPLIT.split(text or "")):
        try:
            if "-" in item:
                first, last = (int(ipaddress.IPv4Address(p.strip())) for p in item.split("-", 1))
                if last < first:
                    raise ValueError
                addresses.update(range(first, last + 1))
            else:
                network = ipaddress.IPv4Network(item, strict=False)
                if network.prefixlen <= 30:
                    addresses.update(range(int(network.network_address) + 1,
                                           int(network.broadcast_address)))
                else:
                    addresses.update(range(int(network.network_address),
                                           int(network.broadcast_address) + 1))
        except ValueError as exc:
            raise ValueError(f"Not an IPv4 address, CIDR or range: {item}") from exc
        if len(addresses) > 1 << 20:
            raise ValueError("Too many addresses in one pool.")
    return addresses


def pool_addresses(ranges: str, exclusions: str) -> list[str]:
    return [str(ipaddress.IPv4Address(a))
            for a in sorted(parse_ipv4_ranges(ranges) - parse_ipv4_ranges(exclusions))]


def delegated_prefix(pool_prefix: str, delegated_length: int, index: int) -> str:
    """The `index`-th /delegated_length inside `pool_prefix`."""
    network = ipaddress.IPv6Network(pool_prefix, strict=False)
    step = 1 << (128 - delegated_length)
    base = int(network.network_address) + index * step
    return str(ipaddress.IPv6Network((base, delegated_length)))


def normalize_mac(value: str | None) -> str:
    """aa:bb:cc:dd:ee:ff from any of the usual spellings (AA-BB-CC..., aabb.ccdd.eeff)."""
    digits = re.sub(r"[^0-9a-fA-F]", "", value or "").lower()
    if len(digits) != 12:
        return (value or "").strip().lower()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
