"""`manage.py radius_server`: serve RADIUS auth and accounting for the portal's NAS devices.

Several worker processes share the ports through SO_REUSEPORT (one per core by default);
each holds its own in-memory snapshot, kept fresh by PostgreSQL notifications, and its own
accounting spool slot under RADIUS_SPOOL_DIR, applied to PostgreSQL by a child process.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from modules.ops import metrics
from radius_server.portal_policy import PortalPolicy
from radius_server.protocol import RadiusServer, ServerConfig, serve_processes

log = logging.getLogger("radius_server")


class PortalRadiusServer(RadiusServer):
    """The engine's server, flushing the auth log and logging counters around its loop."""

    stats_interval = 60.0
    failed = False

    def serve_forever(self) -> None:
        stop = threading.Event()
        threading.Thread(target=self._report, args=(stop,), name="radius-stats",
                         daemon=True).start()
        publisher = metrics.start_radius_publisher(self.counters.snapshot)  # Prometheus
        try:
            super().serve_forever()
        finally:
            stop.set()
            publisher.set()
            self.policy.stop()
        if self.failed:  # the supervisor restarts the whole set of processes
            raise SystemExit(1)

    def fail(self, reason: str) -> None:
        """Stop serving and exit with an error (from any thread)."""
        log.error("radius server stopping: %s", reason)
        self.failed = True
        self.stop()

    def _report(self, stop: threading.Event) -> None:
        while not stop.wait(self.stats_interval):
            log.info("radius counters pid=%d %s authlog_written=%d authlog_waiting=%d",
                     os.getpid(), self.counters.snapshot(), self.policy.writer.written,
                     len(self.policy.writer.rows))


def _address(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host:
        return text or "0.0.0.0", default_port  # noqa: S104 - NASes reach the server on any address
    try:
        return host.strip("[]"), int(port)
    except ValueError as exc:
        raise CommandError(f"Not an address: {text}") from exc


def _tune_for_latency() -> None:
    """Keep Python's pauses out of the reply path: the snapshot (hundreds of thousands of
    long-lived objects) leaves the collector's view, young collections run less often, and a
    background thread (auth log, notifications) holds the interpreter for at most 1 ms at a
    time while the receive loop waits for it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    sys.setswitchinterval(0.001)


class Command(BaseCommand):
    help = "Serve RADIUS authentication and accounting (Ctrl-C stops)."

    def add_arguments(self, parser):
        parser.add_argument("--auth", default=settings.RADIUS_AUTH_ADDRESS,
                            help="Auth address HOST:PORT (default %(default)s).")
        parser.add_argument("--acct", default=settings.RADIUS_ACCT_ADDRESS,
                            help="Accounting address HOST:PORT (same host as --auth).")
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                            help="Worker processes sharing the ports (SO_REUSEPORT).")
        parser.add_argument("--auth-workers", type=int, default=0,
                            help="Threads per process for authorization (0: in the receive loop).")
        parser.add_argument("--stats-interval", type=float, default=60.0)
        parser.add_argument("--quiet-decisions", action="store_true",
                            help="Do not log one line per decision (the auth log still has "
                                 "every attempt).")

    def handle(self, *args, **options):
        host, auth_port = _address(options["auth"], 1812)
        acct_host, acct_port = _address(options["acct"], auth_port + 1)
        if acct_host != host:
            raise CommandError("--auth and --acct must use the same host.")
        config = ServerConfig(host=host, auth_port=auth_port, acct_port=acct_port,
                              auth_workers=options["auth_workers"],
                              processes=options["processes"], accounting_inline=True)
        connections.close_all()  # children open their own connections after the fork
        PortalRadiusServer.stats_interval = options["stats_interval"]

        def build() -> RadiusServer:
            holder: dict = {}

            def applier_failed(exit_code: int) -> None:
                if "server" in holder:
                    holder["server"].fail(f"the accounting applier exited ({exit_code})")

            policy = PortalPolicy(log_decisions=not options["quiet_decisions"],
                                  applier_process=True, on_applier_failure=applier_failed)

            def clients_changed():
                if "server" in holder:
                    holder["server"].clients = policy.snapshot.clients

            policy.start(on_clients_changed=clients_changed)
            _tune_for_latency()
            server = PortalRadiusServer(policy, policy.snapshot.clients, config, policy.codec)
            holder["server"] = server
            if policy.applier.exit_code is not None:  # it ended while the snapshot loaded
                applier_failed(policy.applier.exit_code)
            return server

        self.stdout.write(f"RADIUS server on {host}: auth {auth_port}, accounting {acct_port}, "
                          f"{options['processes']} process(es)")
        if settings.METRICS_EXPORTER_PORT:
            metrics.start_exporter(settings.METRICS_EXPORTER_PORT,
                                   settings.METRICS_EXPORTER_ADDRESS)
        serve_processes(build, options["processes"])
