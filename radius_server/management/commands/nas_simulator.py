"""`manage.py nas_simulator`: a pretend BRAS that brings the demo to life over real RADIUS.

It logs subscribers in (PAP, CHAP and MS-CHAPv2 in turn), sends Start and Interim-Updates
with growing 64-bit counters (Gigawords included), logs some of them out, and answers
Disconnect-Request and CoA-Request on its CoA port like a NAS: a disconnect ends the session
with a Stop, a CoA changes the session's rate. The database is read only to pick the users.
"""

from __future__ import annotations

import itertools
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand

from radius_server import nas_client
from radius_server.protocol import constants as c
from radius_server.protocol.crypto import message_authenticator_ok, request_authenticator_ok
from radius_server.protocol.packet import decode, encode_reply

log = logging.getLogger("radius_server.nas_simulator")
METHODS = ("pap", "chap", "mschapv2")


@dataclass
class Session:
    username: str
    session_id: str
    mac: str
    framed_ip: str | None
    started: float
    down_bps: int
    input_octets: int = 0
    output_octets: int = 0
    last_tick: float = 0.0


def _rate(text: str | None) -> int:
    """Download bit/s from a Mikrotik-Rate-Limit "rx/tx" text such as "50M/100M"."""
    if not text:
        return 20_000_000
    part = text.split()[0].split("/")[-1]
    scale = {"k": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(part[-1:], 1)
    try:
        return int(float(part.rstrip("kMG")) * scale)
    except ValueError:
        return 20_000_000


class Simulator:
    def __init__(self, *, server: str, auth_port: int, acct_port: int, secret: bytes,
                 nas_ip: str, coa_port: int, interval: float, stdout):
        self.auth = (server, auth_port)
        self.acct = (server, acct_port)
        self.secret = secret
        self.nas_ip = nas_ip
        self.coa_port = coa_port
        self.interval = interval
        self.stdout = stdout
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.counter = itertools.count(int(time.time()) % 100000)
        self.stopping = threading.Event()

    # -------------------------------------------------------------- NAS -> server

    def login(self, username: str, password: str, method: str) -> bool:
        mac = "02:00:" + ":".join(f"{b:02x}" for b in username.encode()[:4].ljust(4, b"\0"))
        extra = [("Calling-Station-Id", mac), ("NAS-Port-Id", f"pppoe-{username}"),
                 ("Service-Type", "Framed-User"), ("Framed-Protocol", "PPP")]
        kwargs = {"password": password} if method == "pap" else {
            "chap": password} if method == "chap" else {"mschapv2": password}
        packet = nas_client.access_request(self.secret, username, nas_ip=self.nas_ip,
                                           extra=extra, **kwargs)
        reply = nas_client.exchange(packet, self.auth, self.secret)
        if reply is None:
            self.say(f"{username}: no answer from the RADIUS server")
            return False
        if not reply.accepted:
            self.say(f"{username}: Access-Reject ({method})")
            return False
        session = Session(username, f"{next(self.counter):08X}", mac,
                          reply.get("Framed-IP-Address"), time.time(),
                          _rate(reply.get("Mikrotik-Rate-Limit")))
        if username.endswith("1"):  # one heavy user crosses 4 GiB soon: Gigawords at work
            session.output_octets = (4 << 30) - (200 << 20)
        session.last_tick = session.started
        with self.lock:
            self.sessions[session.session_id] = session
        self.account("Start", session)
        self.say(f"{username}: Access-Accept ({method}), session {session.session_id}, "
                 f"IP {session.framed_ip or 'from NAS pool'}, {session.down_bps // 1000} kbit/s")
        return True

    def account(self, status: str, session: Session, cause: str | None = None) -> bool:
        extra = [("Calling-Station-Id", session.mac), ("Framed-IP-Address", session.framed_ip),
                 ("NAS-Port-Id", f"pppoe-{session.username}")]
        if cause:
            extra.append(("Acct-Terminate-Cause", cause))
        packet = nas_client.accounting_request(
            self.secret, status, session.username, session.session_id,
            input_octets=session.input_octets, output_octets=session.output_octets,
            session_time=int(time.time() - session.started), nas_ip=self.nas_ip, extra=extra)
        for _attempt in range(3):  # a NAS retransmits until the record is acknowledged
            if nas_client.exchange(packet, self.acct, self.secret) is not None:
                return True
        self.say(f"{session.username}: accounting {status} not acknowledged")
        return False

    def tick(self) -> None:
        now = time.time()
        with self.lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            seconds = now - session.last_tick
            session.last_tick = now
            used = int(session.down_bps / 8 * seconds * random.uniform(0.2, 0.9))
            session.output_octets += used
            session.input_octets += used // 10
            self.account("Interim-Update", session)

    def logout(self, session: Session, cause: str = "User-Request") -> None:
        with self.lock:
            self.sessions.pop(session.session_id, None)
        self.account("Stop", session, cause)
        self.say(f"{session.username}: logged out ({cause}), "
                 f"{session.output_octets / (1 << 20):.0f} MB down")

    # -------------------------------------------------------------- server -> NAS

    def serve_coa(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.nas_ip, self.coa_port))
            sock.settimeout(0.5)
            self.say(f"answering CoA/Disconnect on {self.nas_ip}:{self.coa_port}")
            while not self.stopping.is_set():
                try:
                    data, source = sock.recvfrom(4096)
                except TimeoutError:
                    continue
                reply = self.answer(data)
                if reply is not None:
                    sock.sendto(reply, source)

    def answer(self, data: bytes) -> bytes | None:
        packet = decode(data)
        if isinstance(packet, str) or packet.code not in (c.DISCONNECT_REQUEST, c.COA_REQUEST):
            return None
        if not request_authenticator_ok(packet.data, self.secret):
            return None
        if packet.ma_offset >= 0 and not message_authenticator_ok(
                packet.data, packet.ma_offset, self.secret, c.ZERO_AUTHENTICATOR):
            return None
        session_id = (packet.first.get(c.ACCT_SESSION_ID) or b"").decode()
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:  # Error-Cause 503 Session-Context-Not-Found
            return encode_reply(packet.code + 2, packet, self.secret,
                                bytes([c.ERROR_CAUSE, 6]) + (503).to_bytes(4, "big"),
                                with_message_authenticator=True)
        if packet.code == c.DISCONNECT_REQUEST:
            threading.Thread(target=self.logout, args=(session, "Admin-Reset"),
                             daemon=True).start()
            self.say(f"{session.username}: Disconnect-Request -> ACK")
        else:
            rates = [v for t, raw in packet.attributes if t == c.VENDOR_SPECIFIC
                     for v in [raw] if raw[:4] == (14988).to_bytes(4, "big") and raw[4] == 8]
            if rates:
                session.down_bps = _rate(rates[0][6:].decode(errors="replace"))
            self.say(f"{session.username}: CoA-Request -> ACK, now "
                     f"{session.down_bps // 1000} kbit/s")
        return encode_reply(packet.code + 1, packet, self.secret, b"",
                            with_message_authenticator=True)

    def say(self, text: str) -> None:
        self.stdout.write(f"[nas] {text}")


class Command(BaseCommand):
    help = "Simulate a NAS: log demo subscribers in, send accounting, answer CoA/Disconnect."

    def add_arguments(self, parser):
        parser.add_argument("--server", default=settings.RADIUS_AUTH_ADDRESS,
                            help="RADIUS auth address HOST:PORT (accounting on the next port).")
        parser.add_argument("--secret", default="testing123")
        parser.add_argument("--nas-ip", default="127.0.0.1")
        parser.add_argument("--coa-port", type=int, default=3799)
        parser.add_argument("--users", type=int, default=8, help="How many subscribers.")
        parser.add_argument("--username", action="append", default=[],
                            help="Log in this subscriber (repeatable) instead of demo ones.")
        parser.add_argument("--interval", type=float, default=15.0,
                            help="Seconds between Interim-Updates.")
        parser.add_argument("--loop", action="store_true",
                            help="Keep going: log users out and in again, forever.")
        parser.add_argument("--rounds", type=int, default=3, help="Interims before logout.")

    def _users(self, options) -> list[tuple[str, str]]:
        from modules.subscribers.models import Subscriber

        subscribers = Subscriber.objects.exclude(status__in=["terminated", "new"])
        if options["username"]:
            subscribers = subscribers.filter(username__in=options["username"])
        picked = list(subscribers.order_by("username")[:options["users"]])
        return [(s.username, s.get_password()) for s in picked]

    def handle(self, *args, **options):
        host, _, port = options["server"].rpartition(":")
        simulator = Simulator(server=host or "127.0.0.1", auth_port=int(port),
                              acct_port=int(port) + 1, secret=options["secret"].encode(),
                              nas_ip=options["nas_ip"], coa_port=options["coa_port"],
                              interval=options["interval"], stdout=self.stdout)
        threading.Thread(target=simulator.serve_coa, name="coa", daemon=True).start()
        # A NAS that boots says so: the server closes whatever it thought was still open.
        nas_client.exchange(nas_client.accounting_request(
            simulator.secret, "Accounting-On", nas_ip=simulator.nas_ip), simulator.acct,
            simulator.secret)
        while not simulator.stopping.is_set():
            users = self._users(options)
            if not users:
                self.stdout.write("[nas] no subscribers to log in yet; waiting")
            with simulator.lock:
                online = {s.username for s in simulator.sessions.values()}
            for index, (username, password) in enumerate(users):
                if username not in online:
                    simulator.login(username, password, METHODS[index % len(METHODS)])
            try:
                for _ in range(options["rounds"]):
                    time.sleep(options["interval"])
                    simulator.tick()
                with simulator.lock:
                    leaving = list(simulator.sessions.values())
                for session in leaving[: max(1, len(leaving) // 2)] if options["loop"] else leaving:
                    simulator.logout(session)
                if not options["loop"]:
                    break
                time.sleep(options["interval"])
            except KeyboardInterrupt:
                break
        simulator.stopping.set()
