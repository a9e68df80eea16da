"""The NAS simulator logs subscribers in over real RADIUS, accounts growing usage, answers a
Disconnect-Request like a NAS and logs out: what the demo shows on the Networking pages."""

import io
import socket
import threading

from modules.networking.models import AuthLog, DailyUsage, RadiusSession
from radius_server.management.commands.nas_simulator import Simulator
from radius_server.protocol.coa import CoaClient
from tests.radius.conftest import PASSWORD


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_simulator_logs_in_accounts_and_answers_disconnect(radius_world, request):
    radius_world.subscriber("bob")
    radius_world.subscriber("carol")
    radius = request.getfixturevalue("radius")
    out = io.StringIO()
    sim = Simulator(server="127.0.0.1", auth_port=radius.auth_port, acct_port=radius.acct_port,
                    secret=b"testing123", nas_ip="127.0.0.1", coa_port=_free_udp_port(),
                    interval=0.1, stdout=out)
    assert sim.login("alice", PASSWORD, "pap")
    assert sim.login("bob", PASSWORD, "chap")
    assert sim.login("carol", PASSWORD, "mschapv2")
    assert not sim.login("alice", "wrong", "pap")
    sim.tick()
    sim.tick()
    radius.settle()  # acknowledged accounting reaches PostgreSQL from the spool
    live = RadiusSession.objects.filter(stopped_at__isnull=True)
    assert sorted(live.values_list("username", flat=True)) == ["alice", "bob", "carol"]
    assert all(s.output_octets > 0 for s in live)
    assert DailyUsage.objects.filter(subscriber__username="alice").exists()

    # The simulator answers a Disconnect-Request for a session it holds with an ACK and a Stop.
    threading.Thread(target=sim.serve_coa, daemon=True).start()
    try:
        bob = RadiusSession.objects.get(username="bob", stopped_at__isnull=True)
        client = CoaClient("127.0.0.1", b"testing123", port=sim.coa_port, timeout=0.5,
                           attempts=4)
        assert client.disconnect(user_name="bob", acct_session_id=bob.session_id).acked
        unknown = client.disconnect(user_name="bob", acct_session_id="not-a-session")
        assert not unknown.acked and unknown.error_cause == 503
        assert radius.wait_for(lambda: RadiusSession.objects.get(pk=bob.pk).stopped_at)
    finally:
        sim.stopping.set()
    for session in list(sim.sessions.values()):
        sim.logout(session)
    radius.settle()
    assert not RadiusSession.objects.filter(stopped_at__isnull=True).exists()
    radius.flush_log()
    assert AuthLog.objects.filter(outcome="accept").count() == 3
    assert list(AuthLog.objects.filter(outcome="reject").values_list("reason", flat=True)) == [
        "wrong_password"]
