"""Status-Server (RFC 5997) on both ports: signed, side-effect free, silent when unhealthy."""

import pytest

from .helpers import (
    RADCLIENT,
    Nas,
    attr,
    check_reply,
    radclient,
    radclient_reply,
    status_server,
    wait_for,
)

needs_radclient = pytest.mark.skipif(RADCLIENT is None, reason="radclient not installed")


@pytest.fixture(params=["auth", "acct"])
def port(request, server):
    nas = Nas(server.auth_address if request.param == "auth" else server.acct_address)
    yield request.param, nas
    nas.close()


def test_status_server_answered_with_ma_first_and_proxy_state(server, policy, port):
    kind, nas = port
    request = status_server(attributes=attr(33, b"one") + attr(33, b"two"))
    code, attributes = check_reply(nas.exchange(request), request)
    assert code == (2 if kind == "auth" else 5)
    assert attributes[0][0] == 80
    assert [v for t, v in attributes if t == 33] == [b"one", b"two"]
    assert policy.authorized == [] and policy.stored == []


def test_status_server_without_ma_is_dropped(server, port):
    _, nas = port
    assert nas.exchange(status_server(with_ma=False), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get(
        "status_server_without_message_authenticator") == 1)


def test_status_server_with_bad_ma_is_dropped(server, port):
    _, nas = port
    assert nas.exchange(status_server(secret=b"wrong"), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get("bad_message_authenticator") == 1)


def test_unhealthy_backend_makes_the_server_silent(server, policy, port):
    _, nas = port
    policy.is_healthy = False
    assert nas.exchange(status_server(), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get("unhealthy") == 1)
    policy.is_healthy = True
    assert nas.exchange(status_server()) is not None


def test_status_server_is_rate_limited_per_client(make_server, policy):
    server = make_server(policy, status_server_per_second=3)
    nas = Nas(server.auth_address)
    try:
        for ident in range(6):
            nas.send(status_server(ident=ident))
        answered = 0
        while nas.receive(timeout=0.2) is not None:
            answered += 1
        assert 3 <= answered < 6
        assert server.counters.drops.get("status_server_rate_limited", 0) >= 1
    finally:
        nas.close()


@needs_radclient
@pytest.mark.parametrize("kind", ["auth", "acct"])
def test_status_server_through_radclient(server, kind):
    address = server.auth_address if kind == "auth" else server.acct_address
    out = radclient(address, "status", "Message-Authenticator = 0x00\nProxy-State = 0x77\n").stdout
    code, pairs = radclient_reply(out)
    assert code == ("Access-Accept" if kind == "auth" else "Accounting-Response"), out
    assert pairs[0][0] == "Message-Authenticator"
    assert ("Proxy-State", "0x77") in pairs
