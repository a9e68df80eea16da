"""Run the engine without Django: subscribers from a users file, accounting to a log file.

For smoke tests and for measuring the engine alone against the benchmark harness::

    python -m radius_server.protocol.standalone --users /tmp/radbench/users.txt \\
        --client 127.0.0.1=testing123 --processes 2 --accounting-log /tmp/acct.log --fsync

The users file has ``username password`` lines (the harness's ``seed-users.sh`` format).
"""

import argparse
import logging
import os
import sys
import threading

from .clients import Client
from .policy import AccessRequest, AccountingRequest, AuthDecision, Policy
from .server import RadiusServer, ServerConfig, serve_processes


class UsersFilePolicy(Policy):
    """Every subscriber gets the same reply, like the benchmark's seeded radreply rows."""

    def __init__(
        self,
        users: dict[str, str],
        reply: list[tuple[str, object]],
        accounting_log: str | None = None,
        fsync: bool = False,
    ):
        self.users = users
        self.reply = reply
        self.fsync = fsync
        self._log = open(accounting_log, "ab") if accounting_log else None  # noqa: SIM115
        self._log_lock = threading.Lock()

    def authorize(self, request: AccessRequest) -> AuthDecision:
        password = self.users.get(request.username)
        if password is None:
            return AuthDecision.reject("unknown_user")
        if not request.verify_password(password):
            return AuthDecision.reject("wrong_password")
        return AuthDecision.accept(self.reply)

    def account_batch(self, requests: list[AccountingRequest]) -> list[bool]:
        """One append (and one fdatasync with ``fsync``) per batch: group commit."""
        if self._log is None:
            return [True] * len(requests)
        lines = b"".join(
            b"%d %s %s %s %d %d\n"
            % (
                int(r.received_at),
                r.status.encode(),
                r.unique_session_id.encode(),
                (r.username or "").encode(),
                r.input_octets or 0,
                r.output_octets or 0,
            )
            for r in requests
        )
        with self._log_lock:
            self._log.write(lines)
            self._log.flush()
            if self.fsync:
                os.fdatasync(self._log.fileno())
        return [True] * len(requests)


def load_users(path: str) -> dict[str, str]:
    users = {}
    with open(path) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2:
                users[fields[0]] = fields[1]
    return users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", required=True)
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        help="ADDRESS_OR_SUBNET=SECRET (repeatable); default 127.0.0.1=testing123",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--auth-port", type=int, default=1812)
    parser.add_argument("--acct-port", type=int, default=1813)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--require-message-authenticator", default="yes", choices=("yes", "no", "auto")
    )
    parser.add_argument("--accounting-log")
    parser.add_argument("--fsync", action="store_true")
    parser.add_argument("--rate-limit", default="10M/10M")
    parser.add_argument("--framed-pool", default="pool1")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(process)d %(message)s")
    users = load_users(args.users)
    reply = [("Mikrotik-Rate-Limit", args.rate_limit), ("Framed-Pool", args.framed_pool)]
    clients = []
    for spec in args.client or ["127.0.0.1=testing123"]:
        address, secret = spec.split("=", 1)
        clients.append(
            Client(
                address,
                secret.encode(),
                require_message_authenticator=args.require_message_authenticator,
            )
        )
    config = ServerConfig(host=args.host, auth_port=args.auth_port, acct_port=args.acct_port)

    def build() -> RadiusServer:
        policy = UsersFilePolicy(users, reply, args.accounting_log, args.fsync)
        return RadiusServer(policy, clients, config)

    logging.getLogger(__name__).info(
        "serving %d users with %d process(es)", len(users), args.processes
    )
    return serve_processes(build, args.processes)


if __name__ == "__main__":
    sys.exit(main())
