"""Prometheus metrics of the web, task and RADIUS processes, and how to expose them.

One set of metric objects for every process. With several processes on a host (gunicorn
workers, celery prefork children, RADIUS server processes) set PROMETHEUS_MULTIPROC_DIR to an
empty directory shared by them before they start: each process then writes its samples to
memory-mapped files there and `render()` (the web `/metrics`, or `start_exporter`) adds
them up. Without it each process reports only its own samples.
"""

from __future__ import annotations

import os
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10, 30)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)

HTTP_REQUESTS = Counter(
    "isp_http_requests", "Web requests answered, by view name, method and status code.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "isp_http_request_duration_seconds", "Web request time inside Django, by view name.",
    ["view", "method"], buckets=_LATENCY_BUCKETS,
)
TASKS = Counter(
    "isp_celery_tasks", "Celery tasks finished, by task name and state "
    "(succeeded, failed, retried).", ["task", "state"],
)
TASK_DURATION = Histogram(
    "isp_celery_task_duration_seconds", "Celery task run time, by task name.",
    ["task"], buckets=_TASK_BUCKETS,
)
RADIUS_REPLIES = Counter(
    "isp_radius_replies", "RADIUS replies sent, by kind (accept, reject, accounting, "
    "status) and reject reason.", ["kind", "reason"],
)
RADIUS_DROPS = Counter(
    "isp_radius_drops", "RADIUS requests dropped without a reply, by reason.", ["reason"],
)
RADIUS_DUPLICATES = Counter(
    "isp_radius_duplicates_resent", "Retransmitted RADIUS requests answered from the cache.",
)
RADIUS_LATENCY = Gauge(
    "isp_radius_latency_seconds", "RADIUS reply latency percentile of one server process "
    "since it started.", ["quantile"], multiprocess_mode="liveall",
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def collecting_registry() -> CollectorRegistry:
    """The registry to read: all processes' files in multiprocess mode, else this process."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)
    return registry


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(collecting_registry()), CONTENT_TYPE_LATEST


def start_exporter(port: int, addr: str = "127.0.0.1"):
    """Serve `/metrics` over HTTP from this process (RADIUS server, celery on another host).

    In multiprocess mode start it in one process only (the parent, or a sidecar). Returns
    the server; `server.shutdown()` stops it.
    """
    server, _thread = start_http_server(port, addr=addr, registry=collecting_registry())
    return server


def mark_process_dead(pid: int) -> None:
    """Drop a finished process's live gauges (gunicorn `child_exit`, RADIUS parent)."""
    if multiprocess_dir():
        _multiprocess.mark_process_dead(pid)


# ------------------------------------------------------------------ web


def observe_request(request, response, seconds: float) -> None:
    """Count one request under its URL pattern's name (bounded label values, never paths)."""
    match = getattr(request, "resolver_match", None)
    view = (match.view_name or match._func_path) if match else "unresolved"
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
    HTTP_LATENCY.labels(view, method).observe(seconds)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# ------------------------------------------------------------------ celery

_started: dict[str, float] = {}
_started_lock = threading.Lock()


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or str(sender)


def _on_prerun(task_id=None, **_):
    with _started_lock:
        _started[task_id] = time.perf_counter()


def _on_postrun(task_id=None, task=None, **_):
    with _started_lock:
        began = _started.pop(task_id, None)
    if began is not None:
        TASK_DURATION.labels(_task_name(task)).observe(time.perf_counter() - began)


def _on_success(sender=None, **_):
    TASKS.labels(_task_name(sender), "succeeded").inc()


def _on_failure(sender=None, **_):
    TASKS.labels(_task_name(sender), "failed").inc()


def _on_retry(sender=None, **_):
    TASKS.labels(_task_name(sender), "retried").inc()


def connect_celery_signals() -> None:
    """Count every task run by any worker of this project (weak=False: module functions)."""
    from celery import signals

    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="ops-prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="ops-postrun")
    signals.task_success.connect(_on_success, weak=False, dispatch_uid="ops-success")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="ops-failure")
    signals.task_retry.connect(_on_retry, weak=False, dispatch_uid="ops-retry")
    signals.worker_init.connect(_start_worker_exporter, weak=False, dispatch_uid="ops-exporter")


def _start_worker_exporter(**_):
    """In the worker's main process (before the pool forks), when METRICS_EXPORTER_PORT is set."""
    from django.conf import settings

    if settings.METRICS_EXPORTER_PORT:
        start_exporter(settings.METRICS_EXPORTER_PORT, settings.METRICS_EXPORTER_ADDRESS)


# ------------------------------------------------------------------ RADIUS


class RadiusCounterPublisher:
    """Carries a RADIUS server's `Counters.snapshot()` into the Prometheus metrics.

    The engine keeps plain per-process tallies (no Prometheus on its hot path); calling
    `publish(counters.snapshot())` every few seconds adds what changed since the last call.
    """

    def __init__(self):
        self._last: dict[tuple, int] = {}

    def _add(self, key: tuple, total: int, metric) -> None:
        delta = total - self._last.get(key, 0)
        if delta > 0:
            metric.inc(delta)
        self._last[key] = total

    def publish(self, snapshot: dict) -> None:
        self._add(("accept",), snapshot.get("accepts", 0), RADIUS_REPLIES.labels("accept", ""))
        for reason, total in snapshot.get("rejects", {}).items():
            self._add(("reject", reason), total, RADIUS_REPLIES.labels("reject", reason))
        for kind, field in (("accounting", "accounting_responses"), ("status", "status_responses")):
            self._add((kind,), snapshot.get(field, 0), RADIUS_REPLIES.labels(kind, ""))
        for reason, total in snapshot.get("drops", {}).items():
            self._add(("drop", reason), total, RADIUS_DROPS.labels(reason))
        self._add(("duplicate",), snapshot.get("duplicates_resent", 0), RADIUS_DUPLICATES)
        latency = snapshot.get("latency") or {}
        for quantile, field in (("0.5", "p50_ms"), ("0.9", "p90_ms"), ("0.99", "p99_ms")):
            if field in latency:
                RADIUS_LATENCY.labels(quantile).set(latency[field] / 1000)


def start_radius_publisher(snapshot, interval: float = 5.0) -> threading.Event:
    """Publish `snapshot()` (e.g. `server.counters.snapshot`) every `interval` seconds.

    Runs in a daemon thread of the calling process; set the returned event to stop it (it
    publishes once more on the way out).
    """
    stop = threading.Event()
    publisher = RadiusCounterPublisher()

    def loop():
        while not stop.wait(interval):
            publisher.publish(snapshot())
        publisher.publish(snapshot())

    threading.Thread(target=loop, name="radius-metrics", daemon=True).start()
    return stop
