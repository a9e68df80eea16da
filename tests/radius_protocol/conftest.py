import threading

import pytest

from radius_server.protocol import (
    AttributeCodec,
    AuthDecision,
    Client,
    Policy,
    RadiusServer,
    ServerConfig,
)

from .helpers import SECRET, Nas

DEFAULT_REPLY = [("Mikrotik-Rate-Limit", "10M/10M"), ("Framed-Pool", "pool1")]


class MemoryPolicy(Policy):
    """Subscribers and accounting in memory, with switches to make the store or health fail."""

    def __init__(self, users=None):
        self.users = users if users is not None else {"alice": "wonderland"}
        self.replies: dict[str, list] = {}
        self.decision: AuthDecision | None = None  # forced answer, after verify_password
        self.gate: threading.Event | None = None  # authorize waits on it
        self.authorized = []
        self.engine_rejections = []
        self.stored = []
        self.batches = []
        self.store_ok = True
        self.store_raises = False
        self.is_healthy = True

    def authorize(self, request):
        self.authorized.append(request)
        if self.gate is not None:
            self.gate.wait(5)
        password = self.users.get(request.username)
        verified = password is not None and request.verify_password(password)
        if self.decision is not None:
            return self.decision
        if password is None:
            return AuthDecision.reject("unknown_user")
        if not verified:
            return AuthDecision.reject("wrong_password", reply_message="Wrong password")
        return AuthDecision.accept(self.replies.get(request.username, DEFAULT_REPLY))

    def account_batch(self, requests):
        self.batches.append(len(requests))
        if self.store_raises:
            raise RuntimeError("database is down")
        if not self.store_ok:
            return [False] * len(requests)
        self.stored.extend(requests)
        return [True] * len(requests)

    def healthy(self):
        return self.is_healthy

    def engine_rejected(self, request, reason):
        self.engine_rejections.append(reason)


@pytest.fixture(scope="session")
def codec():
    return AttributeCodec()


@pytest.fixture
def policy():
    return MemoryPolicy()


@pytest.fixture
def make_server(codec):
    """Start servers on free ports; each is stopped at the end of the test."""
    servers = []

    def make(policy, clients=None, **config):
        clients = clients if clients is not None else [Client("127.0.0.1", SECRET)]
        config = ServerConfig(host="127.0.0.1", auth_port=0, acct_port=0, **config)
        server = RadiusServer(policy, clients, config, codec=codec).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server, policy):
    return make_server(policy)


@pytest.fixture
def nas(server):
    client = Nas(server.auth_address)
    yield client
    client.close()


@pytest.fixture
def acct_nas(server):
    client = Nas(server.acct_address)
    yield client
    client.close()
