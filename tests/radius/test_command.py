"""`manage.py radius_server` as operators run it: several processes on one port pair."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from modules.networking.models import AuthLog
from tests.radius.client import access_request, accounting_request, exchange, radclient
from tests.radius.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _free_port_pair() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65000:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port


def test_two_processes_share_the_ports_and_flush_the_auth_log_on_stop(radius_world):
    port = _free_port_pair()
    db = connection.settings_dict
    env = dict(os.environ, DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/"
                                        f"{db['NAME']}", CELERY_TASK_ALWAYS_EAGER="0")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "radius_server", "--auth", f"127.0.0.1:{port}",
         "--acct", f"127.0.0.1:{port + 1}", "--processes", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        reply = None
        while reply is None and time.monotonic() < deadline:
            reply = exchange(access_request("alice", password=PASSWORD), port, timeout=0.5)
        assert reply is not None and reply.accepted
        for _ in range(20):  # both processes answer (the kernel spreads source ports)
            assert exchange(access_request("alice", password=PASSWORD), port).accepted
        assert "Access-Accept" in radclient(
            port, "auth", f'User-Name = "alice"\nUser-Password = "{PASSWORD}"\n'
                          'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
        assert exchange(accounting_request("Start", "alice", "C-1"), port + 1) is not None
        assert exchange(access_request("alice", password="not-it"), port).code == 3
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output[-2000:]
    assert AuthLog.objects.filter(username="alice", outcome="accept").count() >= 22
    # one line per decision, and the counters of each process when it stops
    assert "accept user=alice nas=127.0.0.1" in output
    assert "reject user=alice nas=127.0.0.1 mac=- reason=wrong_password" in output
    assert output.count("radius server stopped") == 2
