"""NAS clients: the shared secret and hardening flags, chosen by the UDP source address only.

RFC 2865 §5.4/§5.32: NAS-IP-Address and NAS-Identifier are never used to pick the secret.
"""

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

RequireMA = Literal["yes", "no", "auto"]


@dataclass(slots=True, eq=False)
class Client:
    """One NAS (or a subnet of them) allowed to talk to the server.

    ``require_message_authenticator``: ``yes`` drops Access-Requests without MA; ``auto``
    starts lenient and requires MA once the client has sent one (FreeRADIUS 3.2.5).
    ``limit_proxy_state``: when MA is not required, drop Access-Requests that carry
    Proxy-State but no MA (the Blast-RADIUS attack vector).
    """

    address: str
    secret: bytes
    name: str = ""
    require_message_authenticator: RequireMA = "yes"
    limit_proxy_state: bool = True
    seen_message_authenticator: bool = field(default=False, repr=False)

    def __post_init__(self):
        if isinstance(self.secret, str):
            self.secret = self.secret.encode()
        if not self.secret:
            raise ValueError(f"client {self.address}: empty secret")
        if self.require_message_authenticator not in ("yes", "no", "auto"):
            raise ValueError(
                f"client {self.address}: require_message_authenticator must be yes, no or auto"
            )
        self.name = self.name or self.address

    def requires_message_authenticator(self) -> bool:
        mode = self.require_message_authenticator
        return mode == "yes" or (mode == "auto" and self.seen_message_authenticator)


class ClientTable:
    """Clients by exact address, then by the most specific subnet containing the address."""

    def __init__(self, clients: list[Client] = ()):
        self._exact: dict[str, Client] = {}
        self._networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Client]] = []
        self._subnet_hits: dict[str, Client] = {}
        for client in clients:
            self.add(client)

    def add(self, client: Client) -> None:
        network = ipaddress.ip_network(client.address, strict=False)
        if network.num_addresses == 1:
            self._exact[str(network.network_address)] = client
        else:
            self._networks.append((network, client))
            self._networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
        self._subnet_hits.clear()

    def lookup(self, ip: str) -> Client | None:
        client = self._exact.get(ip) or self._subnet_hits.get(ip)
        if client is not None or not self._networks:
            return client
        return self._lookup_subnet(ip)

    def _lookup_subnet(self, ip: str) -> Client | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for network, client in self._networks:
            if address.version == network.version and address in network:
                if len(self._subnet_hits) < 65536:
                    self._subnet_hits[ip] = client
                return client
        return None
