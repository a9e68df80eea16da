"""The RADIUS server loop: UDP in, checks, policy, signed reply out.

One process serves one core (the GIL); several processes share the ports through
SO_REUSEPORT (see ``serve_processes``), and a socket filter spreads even a single NAS's
requests over them (``reuseport``). In a process, one thread receives on both sockets and,
by default, runs ``Policy.authorize`` inline; accounting goes to group-commit threads (one
session always to the same one) so that a slow store never blocks authentication, or, with
``accounting_inline`` (a store that only appends to a local spool), is stored per receive burst
by the loop itself. Nothing a client sends can raise out of the loop.
"""

import contextlib
import logging
import os
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import constants as c
from .attributes import AttributeCodec, wrap
from .batching import PartitionedBatcher
from .clients import Client, ClientTable
from .counters import Counters
from .crypto import message_authenticator_ok, request_authenticator_ok, salt_encrypt
from .dedup import DuplicateCache, Entry
from .packet import Packet, decode, encode_reply
from .policy import AccessRequest, AccountingRequest, AuthDecision, AuthMethod, Policy
from .reuseport import access_program, accounting_program, attach
from .workqueue import RequestQueue

log = logging.getLogger(__name__)

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_TIMESPEC = struct.Struct("@qq")
_BURST = 64  # datagrams taken from one socket before looking at the other
_REJECT_ALLOWED = frozenset({"Reply-Message"})  # plus MS-CHAP-Error, added by the engine
_MS = c.VENDOR_MICROSOFT


@dataclass
class ServerConfig:
    """Listening addresses and engine limits.

    ``auth_workers`` = 0 runs ``authorize`` in the receive loop: fastest for policies that
    answer from memory. A policy that blocks on a database wants a few workers (the queue
    is bounded by ``max_queue``; requests older than ``max_request_time`` are dropped).
    """

    host: str = "0.0.0.0"  # noqa: S104 - a RADIUS server listens for NASes on the network
    auth_port: int = 1812
    acct_port: int = 1813
    receive_buffer: int = 4 * 1024 * 1024
    reuse_port: bool = True
    processes: int = 1  # processes sharing the ports: requests are steered over them
    duplicate_lifetime: float = 5.0
    auth_workers: int = 0
    max_queue: int = 4096
    max_request_time: float = 5.0
    accounting_batch_max: int = 512
    accounting_batch_delay: float = 0.0
    accounting_workers: int = 1  # more overlap slow stores; one session stays on one worker
    # Store each burst of Accounting-Requests in the receive loop itself, for a policy whose
    # `account_batch` only appends to a local spool: no hand-over to a worker thread.
    accounting_inline: bool = False
    status_server_per_second: int = 20
    min_interim_interval: int = 60  # RFC 2869 §5.16


class _Listener:
    __slots__ = ("accounting", "port", "sock", "v6")

    def __init__(self, sock: socket.socket, accounting: bool):
        self.sock = sock
        self.accounting = accounting
        self.port = sock.getsockname()[1]
        self.v6 = sock.family == socket.AF_INET6


def _classify(packet: Packet) -> AuthMethod | str:
    """The request's auth method, or why the engine rejects it without asking the policy."""
    first = packet.first
    if (
        c.NAS_IP_ADDRESS not in first
        and c.NAS_IDENTIFIER not in first
        and c.NAS_IPV6_ADDRESS not in first
    ):
        return "missing_nas_identification"  # RFC 2865 §4.1, RFC 3162 §2.1
    if c.EAP_MESSAGE in first:
        return "eap_not_supported"
    password = first.get(c.USER_PASSWORD)
    if password is not None:
        if not password or len(password) % 16 or len(password) > 128:
            return "malformed_user_password"
        return AuthMethod.PAP
    chap = first.get(c.CHAP_PASSWORD)
    if chap is not None:
        return AuthMethod.CHAP if len(chap) == 17 else "malformed_chap_password"
    if c.VENDOR_SPECIFIC in first:
        response = packet.vendor_attributes(_MS, c.MS_CHAP2_RESPONSE)
        if response:
            challenge = packet.vendor_attributes(_MS, c.MS_CHAP_CHALLENGE)
            well_formed = (
                len(response) == len(challenge) == 1
                and len(response[0]) == 50
                and len(challenge[0]) == 16
            )
            return AuthMethod.MSCHAPV2 if well_formed else "malformed_mschapv2"
        if packet.vendor_attributes(_MS, c.MS_CHAP_RESPONSE):
            return "mschapv1_not_supported"
    if c.STATE in first:
        return AuthMethod.STATE
    return "no_credentials"


def _accounting_key(item) -> tuple | None:
    """Records of one session (NAS address + Acct-Session-Id) go to one accounting worker, in
    arrival order; Accounting-On/Off (no session) go to the first."""
    request = item[0]
    session = request.packet.first.get(c.ACCT_SESSION_ID)
    return None if session is None else (request.source[0], session)


class RadiusServer:
    """Serve RADIUS auth and accounting for ``clients`` with ``policy``.

    ``start()`` runs the loop in a background thread (tests, embedding); ``serve_forever()``
    runs it in the calling thread until ``stop()``.
    """

    def __init__(
        self,
        policy: Policy,
        clients: ClientTable | Iterable[Client],
        config: ServerConfig | None = None,
        codec: AttributeCodec | None = None,
    ):
        self.policy = policy
        self.clients = clients if isinstance(clients, ClientTable) else ClientTable(list(clients))
        self.config = config or ServerConfig()
        self.codec = codec or AttributeCodec()
        self.counters = Counters()
        self._dedup = DuplicateCache(self.config.duplicate_lifetime)
        self._listeners: dict[int, _Listener] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._accounting = PartitionedBatcher(
            self._store_accounting,
            workers=self.config.accounting_workers,
            key=_accounting_key,
            max_batch=self.config.accounting_batch_max,
            max_delay=self.config.accounting_batch_delay,
            name="radius-accounting",
        )
        self._inline: list | None = [] if self.config.accounting_inline else None
        self._queue = RequestQueue(self.config.max_queue) if self.config.auth_workers else None
        self._workers: list[threading.Thread] = []
        self._status_windows: dict[Client, list[int]] = {}
        self._wakeup_read = self._wakeup_write = -1  # a pipe that lets stop() end a poll
        self.auth_address: tuple | None = None  # (host, port) once bound
        self.acct_address: tuple | None = None

    # ------------------------------------------------------------------ lifecycle

    def bind(self) -> None:
        cfg = self.config
        self._wakeup_read, self._wakeup_write = os.pipe()
        family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        for port, accounting in ((cfg.auth_port, False), (cfg.acct_port, True)):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            if cfg.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            self._set_receive_buffer(sock)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.bind((cfg.host, port))
            if cfg.reuse_port and cfg.processes > 1:
                program = accounting_program if accounting else access_program
                attach(sock, program(cfg.processes))
            sock.setblocking(False)
            self._listeners[sock.fileno()] = _Listener(sock, accounting)
            if accounting:
                self.acct_address = sock.getsockname()[:2]
            else:
                self.auth_address = sock.getsockname()[:2]

    def _set_receive_buffer(self, sock: socket.socket) -> None:
        """SO_RCVBUFFORCE passes rmem_max when privileged; else the kernel caps SO_RCVBUF."""
        size = self.config.receive_buffer
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    def start(self) -> "RadiusServer":
        """Bind now (so the addresses are known) and serve from a background thread."""
        if not self._listeners:
            self.bind()
        self._thread = threading.Thread(
            target=self.serve_forever, name="radius-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to finish; waits for it when it runs in the ``start()`` thread."""
        self._stopping = True
        if self._wakeup_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wakeup_write, b"x")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> "RadiusServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        if not self._listeners:
            self.bind()
        self._accounting.start()
        for index in range(self.config.auth_workers):
            worker = threading.Thread(
                target=self._auth_worker, name=f"radius-auth-{index}", daemon=True
            )
            worker.start()
            self._workers.append(worker)
        poller = select.poll()
        for fd in (*self._listeners, self._wakeup_read):
            poller.register(fd, select.POLLIN)
        log.info(
            "radius server listening auth=%s acct=%s pid=%d",
            self.auth_address,
            self.acct_address,
            os.getpid(),
        )
        next_sweep = 0.0
        try:
            while not self._stopping:
                for fd, _event in poller.poll(500):
                    listener = self._listeners.get(fd)
                    if listener is not None:
                        self._drain(listener)
                now = time.time()
                if now >= next_sweep:
                    self._dedup.sweep(now)
                    next_sweep = now + 0.5
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._queue is not None:
            self._queue.close()
        for worker in self._workers:
            worker.join(self.config.max_request_time)
        self._accounting.stop()
        for listener in self._listeners.values():
            listener.sock.close()
        wakeup = (self._wakeup_read, self._wakeup_write)
        self._wakeup_read = self._wakeup_write = -1
        for fd in wakeup:
            os.close(fd)
        log.info("radius server stopped pid=%d counters=%s", os.getpid(), self.counters.snapshot())

    # ------------------------------------------------------------------ receive path

    def _drain(self, listener: _Listener) -> None:
        try:
            self._receive_burst(listener)
        finally:
            if self._inline:  # one spool write (and fsync) for the burst's accounting
                batch, self._inline = self._inline, []
                self._store_accounting(batch)

    def _receive_burst(self, listener: _Listener) -> None:
        recvmsg = listener.sock.recvmsg
        for _ in range(_BURST):
            try:  # a longer datagram is cut at 4096: only padding can be lost (RFC 2865 §3)
                data, ancillary, _flags, source = recvmsg(c.MAX_PACKET_LENGTH, 64)
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("receive failed on port %d: %s", listener.port, exc)
                return
            if ancillary:  # SO_TIMESTAMPNS: when the kernel queued the datagram
                seconds, nanoseconds = _TIMESPEC.unpack_from(ancillary[0][2])
                received_at = seconds + nanoseconds * 1e-9
            else:
                received_at = time.time()
            try:
                self._dispatch(listener, data, source, received_at)
            except Exception:
                self.counters.dropped("internal_error")
                log.exception("unexpected error on a packet from %s", source[0])

    def _drop(self, reason: str, source: tuple) -> None:
        self.counters.dropped(reason)
        log.debug("drop %s from %s:%s", reason, source[0], source[1])

    def _dispatch(self, listener: _Listener, data: bytes, source: tuple, received_at: float):
        ip = source[0]
        if listener.v6 and ip.startswith("::ffff:"):
            ip = ip[7:]
        client = self.clients.lookup(ip)
        if client is None:
            return self._drop("unknown_client", source)
        packet = decode(data)
        if packet.__class__ is str:
            return self._drop(packet, source)
        code = packet.code
        if code == c.STATUS_SERVER:
            return self._status_server(listener, packet, client, source, received_at)
        if listener.accounting:
            if code == c.ACCOUNTING_REQUEST:
                return self._accounting_request(listener, packet, client, source, ip, received_at)
        elif code == c.ACCESS_REQUEST:
            return self._access_request(listener, packet, client, source, ip, received_at)
        return self._drop("wrong_code_for_port", source)

    def _begin(
        self, listener: _Listener, packet: Packet, source: tuple, ip: str, received_at: float
    ) -> Entry | None:
        """Register the request, or answer/drop it as a duplicate (returns None then)."""
        duplicate, entry = self._dedup.begin(
            (listener.port, ip, source[1], packet.ident), packet.authenticator, received_at
        )
        if not duplicate:
            return entry
        if entry.reply is None:
            self._drop("duplicate_in_progress", source)
        else:
            listener.sock.sendto(entry.reply, source)
            self.counters.duplicate_resent()
        return None

    # ------------------------------------------------------------------ Access-Request

    def _access_request(self, listener, packet: Packet, client: Client, source, ip, received_at):
        first = packet.first
        if packet.ma_offset >= 0:
            if not message_authenticator_ok(packet.data, packet.ma_offset, client.secret):
                return self._drop("bad_message_authenticator", source)
            client.seen_message_authenticator = True
        elif client.requires_message_authenticator():
            return self._drop("missing_message_authenticator", source)
        elif c.EAP_MESSAGE in first:
            return self._drop("eap_without_message_authenticator", source)
        elif client.limit_proxy_state and c.PROXY_STATE in first:
            return self._drop("proxy_state_without_message_authenticator", source)
        if c.USER_PASSWORD in first and (c.CHAP_PASSWORD in first or c.EAP_MESSAGE in first):
            return self._drop("conflicting_credentials", source)
        if c.CHAP_PASSWORD in first and c.EAP_MESSAGE in first:
            return self._drop("conflicting_credentials", source)
        entry = self._begin(listener, packet, source, ip, received_at)
        if entry is None:
            return None
        method = _classify(packet)
        engine_reason = method if method.__class__ is str else None
        request = AccessRequest(
            packet, client, source, received_at, self.codec, None if engine_reason else method
        )
        job = (request, entry, listener.sock, engine_reason)
        if self._queue is None:
            return self._authorize(*job)
        queued, displaced = self._queue.put(job, c.STATE in first)
        if displaced is not None:
            displaced[1].forget()
            self._drop("overload_displaced", displaced[0].source)
        if not queued:
            entry.forget()
            self._drop("overload", source)
        return None

    def _auth_worker(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            request, entry = job[0], job[1]
            if time.time() - request.received_at > self.config.max_request_time:
                entry.forget()
                self._drop("request_timeout", request.source)
                continue
            try:
                self._authorize(*job)
            except Exception:
                self.counters.dropped("internal_error")
                log.exception("unexpected error authorizing %s", request.source[0])

    def _authorize(
        self, request: AccessRequest, entry: Entry, sock: socket.socket, engine_reason: str | None
    ) -> None:
        policy = self.policy
        try:
            if engine_reason is None:
                decision = policy.authorize(request)
                if (
                    decision.accepted
                    and request.auth_method is AuthMethod.MSCHAPV2
                    and request.mschap_success is None
                ):
                    decision = AuthDecision.reject("mschapv2_not_verified")
                    policy.engine_rejected(request, decision.reason)
            else:
                decision = AuthDecision.reject(engine_reason)
                policy.engine_rejected(request, engine_reason)
            reply = self._access_reply(request, decision)
        except Exception:
            entry.forget()
            self.counters.dropped("policy_error")
            log.exception("policy failed on Access-Request from %s", request.source[0])
            return
        try:
            sock.sendto(reply, request.source)
        except OSError as exc:
            entry.forget()
            self._drop("send_failed", request.source)
            log.warning("send to %s failed: %s", request.source[0], exc)
            return
        entry.reply = reply
        latency = time.time() - request.received_at
        if decision.accepted:
            self.counters.accepted(latency)
        else:
            self.counters.rejected(decision.reason or "rejected", latency)

    def _access_reply(self, request: AccessRequest, decision: AuthDecision) -> bytes:
        encode = self.codec.encode
        parts = []
        if decision.accepted:
            code = c.ACCESS_ACCEPT
            floor = self.config.min_interim_interval
            for name, value in decision.attributes:
                if name == "Acct-Interim-Interval" and isinstance(value, int) and value < floor:
                    value = floor
                parts.append(encode(name, value))
            if request.mschap_success is not None:
                parts.extend(self._mschap_success_attributes(request))
        else:
            code = c.ACCESS_REJECT
            for name, value in decision.attributes:
                if name in _REJECT_ALLOWED:
                    parts.append(encode(name, value))
            if decision.reply_message:
                text = decision.reply_message.encode()
                parts.extend(
                    wrap(c.REPLY_MESSAGE, text[i : i + 253]) for i in range(0, len(text), 253)
                )
            if request.auth_method is AuthMethod.MSCHAPV2:
                parts.append(self._mschap_error_attribute(request.packet))
        parts.append(request.packet.proxy_states())
        return encode_reply(
            code,
            request.packet,
            request.client.secret,
            b"".join(parts),
            with_message_authenticator=True,
        )

    def _mschap_success_attributes(self, request: AccessRequest) -> list[bytes]:
        """MS-CHAP2-Success and salt-hidden MPPE keys (RFC 2548 §2.3.3, §2.4.2-3)."""
        success = request.mschap_success
        secret, authenticator = request.client.secret, request.packet.authenticator
        salt = os.urandom(2)
        send_salt = bytes([salt[0] | 0x80, salt[1]])
        recv_salt = bytes([send_salt[0], send_salt[1] ^ 1])  # salts in a packet must differ
        return [
            wrap(
                (_MS, c.MS_CHAP2_SUCCESS), bytes([success.ident]) + success.authenticator_response
            ),
            wrap(
                (_MS, c.MS_MPPE_RECV_KEY),
                salt_encrypt(success.recv_key, secret, authenticator, recv_salt),
            ),
            wrap(
                (_MS, c.MS_MPPE_SEND_KEY),
                salt_encrypt(success.send_key, secret, authenticator, send_salt),
            ),
            self.codec.encode("MS-MPPE-Encryption-Policy", "Encryption-Allowed"),
            self.codec.encode("MS-MPPE-Encryption-Types", "RC4-40or128-bit-Allowed"),
        ]

    @staticmethod
    def _mschap_error_attribute(packet: Packet) -> bytes:
        """MS-CHAP-Error E=691 (authentication failure), no retry (RFC 2759 §6)."""
        response = packet.vendor_attributes(_MS, c.MS_CHAP2_RESPONSE)[0]
        challenge = packet.vendor_attributes(_MS, c.MS_CHAP_CHALLENGE)[0]
        text = b"E=691 R=0 C=" + challenge.hex().upper().encode() + b" V=3 M=Authentication failed"
        return wrap((_MS, c.MS_CHAP_ERROR), response[:1] + text)

    # ------------------------------------------------------------------ Status-Server

    def _status_server(self, listener, packet: Packet, client: Client, source, received_at):
        """RFC 5997: needs a valid MA, touches no auth or accounting state."""
        if packet.ma_offset < 0:
            return self._drop("status_server_without_message_authenticator", source)
        if not message_authenticator_ok(packet.data, packet.ma_offset, client.secret):
            return self._drop("bad_message_authenticator", source)
        second = int(received_at)
        windows = self._status_windows
        if len(windows) > 65536:  # client tables get replaced on reload
            windows.clear()
        window = windows.setdefault(client, [second, 0])
        if window[0] != second:
            window[0], window[1] = second, 0
        window[1] += 1
        if window[1] > self.config.status_server_per_second:
            return self._drop("status_server_rate_limited", source)
        try:
            healthy = self.policy.healthy()
        except Exception:
            log.exception("health check failed")
            healthy = False
        if not healthy:
            return self._drop("unhealthy", source)
        code = c.ACCOUNTING_RESPONSE if listener.accounting else c.ACCESS_ACCEPT
        reply = encode_reply(
            code, packet, client.secret, packet.proxy_states(), with_message_authenticator=True
        )
        listener.sock.sendto(reply, source)
        self.counters.status_answered()
        return None

    # ------------------------------------------------------------------ Accounting

    def _accounting_request(
        self, listener, packet: Packet, client: Client, source, ip, received_at
    ):
        data, secret = packet.data, client.secret
        if not request_authenticator_ok(data, secret):
            return self._drop("bad_request_authenticator", source)
        if packet.ma_offset >= 0 and not message_authenticator_ok(
            data, packet.ma_offset, secret, c.ZERO_AUTHENTICATOR
        ):
            return self._drop("bad_message_authenticator", source)
        status = packet.first.get(c.ACCT_STATUS_TYPE)
        if status is None or len(status) != 4:
            return self._drop("missing_acct_status_type", source)
        if c.ACCT_SESSION_ID not in packet.first and int.from_bytes(status, "big") not in (
            c.ACCT_ON,
            c.ACCT_OFF,
        ):
            return self._drop("missing_acct_session_id", source)
        entry = self._begin(listener, packet, source, ip, received_at)
        if entry is None:
            return None
        request = AccountingRequest(packet, client, source, received_at, self.codec)
        if self._inline is not None:
            self._inline.append((request, entry, listener.sock))
        else:
            self._accounting.submit((request, entry, listener.sock))
        return None

    def _store_accounting(self, batch: list) -> None:
        """Store the batch, answer what was stored (in the accounting thread, or in the
        receive loop with ``accounting_inline``)."""
        requests = [item[0] for item in batch]
        try:
            results = self.policy.account_batch(requests)
            if len(results) != len(requests):
                raise ValueError(
                    f"account_batch returned {len(results)} results for {len(requests)} requests"
                )
        except Exception:
            log.exception("accounting store failed for %d requests", len(requests))
            results = [False] * len(requests)
        for (request, entry, sock), stored in zip(batch, results, strict=True):
            if stored is not True:
                entry.forget()
                self._drop("accounting_not_stored", request.source)
                continue
            packet = request.packet
            reply = encode_reply(
                c.ACCOUNTING_RESPONSE,
                packet,
                request.client.secret,
                packet.proxy_states(),
                with_message_authenticator=False,
            )
            try:
                sock.sendto(reply, request.source)
            except OSError as exc:
                log.warning("send to %s failed: %s", request.source[0], exc)
                continue
            entry.reply = reply
            self.counters.accounted(time.time() - request.received_at)


def serve_processes(build: Callable[[], RadiusServer], processes: int) -> int:
    """Run ``processes`` servers on the same ports (SO_REUSEPORT), one per core.

    ``build`` runs in each child after the fork, so every process opens its own sockets and
    database connections. SIGTERM/SIGINT to the parent stop the children; if one child dies
    the others are stopped too, so that the supervisor restarts a complete set. Returns the
    exit status for the parent.
    """
    if processes <= 1:
        server = build()
        _stop_on_signals(server)
        server.serve_forever()
        return 0
    children = set()
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                server = build()
                _stop_on_signals(server)
                server.serve_forever()
            except BaseException:
                log.exception("radius server process failed")
                status = 1
            finally:
                logging.shutdown()
                os._exit(status)
        children.add(pid)

    def stop_children(_signum=None, _frame=None):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_children)
    signal.signal(signal.SIGINT, stop_children)
    failed = False
    while children:
        pid, status = os.wait()
        children.discard(pid)
        if status != 0 and not failed:
            failed = True
            log.error("radius server process %d exited with status %d; stopping the rest",
                      pid, status)
            stop_children()
    return 1 if failed else 0


def _stop_on_signals(server: RadiusServer) -> None:
    def stop(_signum, _frame):
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
