"""`manage.py radius_server` as operators run it: several processes on one port pair."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from modules.networking.models import AuthLog, RadiusSession
from radius_server import spool as spooling
from radius_server.portal_policy import _SPOOLED
from tests.radius.client import access_request, accounting_request, exchange, radclient
from tests.radius.conftest import PASSWORD, database_refused

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


def _server_env(spool_dir) -> dict:
    db = connection.settings_dict
    return dict(os.environ, DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/"
                                         f"{db['NAME']}", CELERY_TASK_ALWAYS_EAGER="0",
                RADIUS_SPOOL_DIR=str(spool_dir))


def test_two_processes_share_the_ports_and_flush_the_auth_log_on_stop(radius_world, tmp_path):
    port = _free_port_pair()
    env = _server_env(tmp_path / "spool")
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


def _serve(port: int, env: dict, log: Path, processes: int = 1) -> subprocess.Popen:
    with open(log, "a") as output:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "radius_server", "--auth", f"127.0.0.1:{port}",
             "--acct", f"127.0.0.1:{port + 1}", "--processes", str(processes),
             "--quiet-decisions"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)  # a process group of its own, as under a supervisor
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if exchange(access_request("alice", password=PASSWORD), port, timeout=0.5) is not None:
            return server
    server.kill()
    server.wait(10)
    raise AssertionError(log.read_text()[-2000:])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat.rpartition(")")[2].split()[0] == "Z":  # ended, not yet reaped
            return True
        time.sleep(0.05)
    return False


def test_acknowledged_accounting_survives_a_kill_and_is_replayed_at_start(radius_world,
                                                                           tmp_path):
    port = _free_port_pair()
    env = _server_env(tmp_path / "spool")
    log = tmp_path / "server.log"
    server = _serve(port, env, log)
    try:
        with database_refused():  # the record can only be in the spool when it is answered
            interim = accounting_request("Interim-Update", "alice", "K-1", input_octets=4242,
                                         output_octets=4343, session_time=60)
            assert exchange(interim, port + 1) is not None
            [applier] = _children(server.pid)
            server.kill()
            server.wait(30)
            assert _gone(applier)  # it dies with the server: the slot is free for the next
        assert not RadiusSession.objects.filter(session_id="K-1").exists()
        server = _serve(port, env, log)  # replays the spool, then answers as before
        deadline = time.monotonic() + 30
        while not RadiusSession.objects.filter(session_id="K-1").exists():
            assert time.monotonic() < deadline, "the spooled record was not replayed"
            time.sleep(0.1)
        session = RadiusSession.objects.get(session_id="K-1")
        assert (session.input_octets, session.output_octets) == (4242, 4343)
        # a retransmit after the restart changes nothing
        assert exchange(interim, port + 1) is not None
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert server.returncode == 0, log.read_text()[-2000:]
    assert RadiusSession.objects.filter(session_id="K-1").count() == 1
    assert RadiusSession.objects.get(session_id="K-1").input_octets == 4242


def test_the_server_exits_with_an_error_when_its_accounting_applier_dies(radius_world,
                                                                        tmp_path):
    port = _free_port_pair()
    log = tmp_path / "server.log"
    server = _serve(port, _server_env(tmp_path / "spool"), log)
    try:
        [applier] = _children(server.pid)
        assert exchange(accounting_request("Start", "alice", "D-1"), port + 1) is not None
        assert _applied("D-1"), "the applier process stores what the server acknowledged"
        os.kill(applier, signal.SIGKILL)
        server.wait(30)  # the supervisor restarts it with a working applier
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
    assert server.returncode == 1, log.read_text()[-2000:]
    assert "the accounting applier exited (-9)" in log.read_text()


def _applied(session_id: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if RadiusSession.objects.filter(session_id=session_id).exists():
            return True
        time.sleep(0.05)
    return False


def test_stopping_the_whole_process_group_is_a_clean_stop(radius_world, tmp_path):
    """A supervisor (or Ctrl-C) signals every process of the group, appliers included: they
    outlive their servers' last batch and nothing is reported as failed."""
    port = _free_port_pair()
    log = tmp_path / "server.log"
    server = _serve(port, _server_env(tmp_path / "spool"), log, processes=2)
    appliers = [pid for worker in _children(server.pid) for pid in _children(worker)]
    assert len(appliers) == 2
    for applier in appliers:  # the group's signal reaches an applier first: it stays
        os.kill(applier, signal.SIGTERM)
    assert exchange(accounting_request("Start", "alice", "G-1"), port + 1) is not None
    assert _applied("G-1")
    assert not any(_gone(applier, timeout=0.5) for applier in appliers)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(30)
    text = log.read_text()
    assert server.returncode == 0, text[-2000:]
    assert "applier exited" not in text
    assert text.count("radius server stopped") == 2


def test_a_slot_left_by_a_larger_set_of_processes_is_drained_by_an_applier(radius_world,
                                                                          tmp_path):
    """Two slots hold acknowledged records (a run with two processes was killed); a restart
    with one process replays its own slot (slot-0) and its applier drains the other."""
    nas = radius_world.nas
    first, _ = spooling.open_spools(tmp_path / "spool", max_bytes=1 << 20)
    second, _ = spooling.open_spools(tmp_path / "spool", max_bytes=1 << 20)
    for spool, session in ((first, "O-1"), (second, "O-2")):
        packet = accounting_request("Start", "alice", session)
        spool.append([_SPOOLED.pack(time.time(), nas.id, nas.organization.tenant_id, -1, 9)
                      + b"127.0.0.1" + packet])
    first.close()
    second.close()
    port = _free_port_pair()
    log = tmp_path / "server.log"
    server = _serve(port, _server_env(tmp_path / "spool"), log)
    try:
        assert _applied("O-1") and _applied("O-2"), log.read_text()[-2000:]
        orphan = tmp_path / "spool" / "slot-1"
        deadline = time.monotonic() + 10
        while any(orphan.glob("*.seg")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(orphan.glob("*.seg")) and not (orphan / "id").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert server.returncode == 0, log.read_text()[-2000:]
