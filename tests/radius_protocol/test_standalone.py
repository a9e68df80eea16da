"""The standalone server: several processes on shared ports, users file, accounting log."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import Nas, accounting_request, attr, check_reply, int_attr, pap_request, wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def standalone(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("user000001 pass000001\nuser000002 pass000002\n")
    log = tmp_path / "acct.log"
    auth_port, acct_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radius_server.protocol.standalone", "--users", str(users),
         "--auth-port", str(auth_port), "--acct-port", str(acct_port), "--processes", "2",
         "--accounting-log", str(log), "--fsync"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    yield process, ("127.0.0.1", auth_port), ("127.0.0.1", acct_port), log
    if process.poll() is None:
        process.kill()
        process.wait(5)


def test_standalone_serves_auth_and_accounting_then_stops(standalone):
    process, auth_address, acct_address, log = standalone
    nas, acct = Nas(auth_address), Nas(acct_address)
    try:
        request = pap_request("user000001", "pass000001")
        assert wait_for(lambda: nas.exchange(request, timeout=0.2) is not None, timeout=10)
        request = pap_request("user000001", "pass000001")
        code, attributes = check_reply(nas.exchange(request), request)
        assert code == 2 and attributes[0][0] == 80
        wrong = pap_request("user000002", "wrong")
        assert check_reply(nas.exchange(wrong), wrong)[0] == 3
        stop = accounting_request(int_attr(40, 2) + attr(44, "s-9") + attr(1, "user000001")
                                  + int_attr(42, 7) + int_attr(52, 1))
        assert acct.exchange(stop) is not None
        assert " Stop " in log.read_text()
        assert "user000001 4294967303 0" in log.read_text()
    finally:
        nas.close()
        acct.close()
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(10) == 0
    assert process.stderr.read().count("radius server stopped") == 2
