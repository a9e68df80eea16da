"""Liveness checks of what the product depends on: database, broker, RADIUS server.

Each check answers within about HEALTH_CHECK_TIMEOUT seconds; the broker and RADIUS checks
run side by side so a probe never waits for their sum.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connections

from modules.ops.radius_status import (
    ACCESS_ACCEPT,
    StatusServerError,
    parse_address,
    status_server,
)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
CHECKS = ("database", "broker", "radius")


@dataclass
class CheckResult:
    status: str
    detail: str = ""
    ms: float = 0.0
    required: bool = False


class Skipped(Exception):
    """The check is not configured on this deployment."""


def check_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connections["default"].settings_dict.get("HOST") or "local socket"


def check_broker() -> str:
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    timeout = settings.HEALTH_CHECK_TIMEOUT
    with Connection(url, transport_options=options, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        return conn.as_uri()  # the password masked


def check_radius() -> str:
    secret = settings.HEALTH_RADIUS_SECRET
    if not secret:
        raise Skipped("HEALTH_RADIUS_SECRET is not set")
    host, port = parse_address(settings.RADIUS_AUTH_ADDRESS)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    code = status_server(host, port, secret.encode(), timeout=settings.HEALTH_CHECK_TIMEOUT)
    if code != ACCESS_ACCEPT:
        raise StatusServerError(f"unexpected reply code {code}")
    return f"{host}:{port} answered Status-Server"


_RUNNERS = {"database": check_database, "broker": check_broker, "radius": check_radius}


def _run(name: str) -> CheckResult:
    began = time.perf_counter()
    try:
        detail, status = _RUNNERS[name](), OK
    except Skipped as reason:
        detail, status = str(reason), SKIPPED
    except Exception as exc:  # a health check reports every failure, never raises
        detail, status = f"{type(exc).__name__}: {exc}".strip()[:300], FAILED
    return CheckResult(status, detail, round((time.perf_counter() - began) * 1000, 1))


def required_checks() -> set[str]:
    return {name for name in settings.HEALTH_REQUIRED_CHECKS if name in _RUNNERS}


def run_checks() -> dict:
    """{"status": "ok"|"failed", "checks": {name: {...}}}; ok only if every required check is.

    A required check that is skipped (not configured) counts as failed.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="health") as pool:
        remote = {name: pool.submit(_run, name) for name in ("broker", "radius")}
        results = {"database": _run("database")}
        results.update({name: future.result() for name, future in remote.items()})
    required = required_checks()
    for name, result in results.items():
        result.required = name in required
    healthy = all(results[name].status == OK for name in required)
    return {
        "status": OK if healthy else FAILED,
        "checks": {name: asdict(results[name]) for name in CHECKS},
    }
