import socket

import pytest

from radius_server.protocol import RadiusServer, ServerConfig
from radius_server.protocol.clients import Client
from radius_server.protocol.policy import AuthDecision, Policy

REDIS_TEST_BROKER = "redis://127.0.0.1:6379/13"
HEALTH_SECRET = "status-probe-secret"


def closed_port(kind=socket.SOCK_STREAM) -> int:
    """A local port nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StatusOnlyPolicy(Policy):
    """A RADIUS policy that only answers Status-Server (healthy or not)."""

    def __init__(self, healthy=True):
        self.is_healthy = healthy

    def authorize(self, request):
        return AuthDecision.reject("not used")

    def account(self, request):
        return True

    def healthy(self):
        return self.is_healthy


@pytest.fixture
def radius_server():
    """A real RADIUS engine on a free loopback port that knows the health-probe secret."""
    servers = []

    def start(healthy=True):
        config = ServerConfig(host="127.0.0.1", auth_port=0, acct_port=0)
        server = RadiusServer(StatusOnlyPolicy(healthy), [Client("127.0.0.1", HEALTH_SECRET)],
                              config).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
