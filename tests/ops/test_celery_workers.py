"""Real celery workers, on Redis and on RabbitMQ, take the ping task and reach the database."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from modules.ops.models import Heartbeat
from modules.ops.tasks import ping
from tests.ops.conftest import REDIS_TEST_BROKER, closed_port

ROOT = Path(__file__).resolve().parents[2]
BROKERS = {
    "redis": REDIS_TEST_BROKER,
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(broker: str, queue: str, metrics_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "METRICS_EXPORTER_PORT": str(metrics_port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--queues", queue, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def succeeded_pings(port: int) -> float | None:
    """The worker's `isp_celery_tasks_total` for ops.ping (success is counted after commit)."""
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        for family in text_string_to_metric_families(text):
            for item in family.samples:
                if item.name == "isp_celery_tasks_total" and item.labels == {
                        "task": "ops.ping", "state": "succeeded"}:
                    return item.value
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def stop(worker: subprocess.Popen) -> str:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    return worker.stdout.read().decode(errors="replace")[-3000:]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_on_the_broker_runs_ping_and_writes_its_heartbeat(broker):
    url, queue, token = BROKERS[broker], f"ops-test-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    metrics_port = closed_port()
    worker = start_worker(url, queue, metrics_port)
    try:
        with Connection(url, connect_timeout=5) as conn:
            ping.apply_async(kwargs={"source": f"test-{broker}", "token": token},
                             connection=conn, queue=queue)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and worker.poll() is None:
                if Heartbeat.objects.filter(token=token).exists():
                    break
                time.sleep(0.25)
            beat = Heartbeat.objects.filter(token=token).first()
            succeeded = succeeded_pings(metrics_port) if beat else None
            log = stop(worker)
            assert beat is not None, log
            assert beat.source == f"test-{broker}"
            assert beat.worker  # the worker's host name, from the task request
            assert succeeded == 1  # counted by the worker's own metrics exporter
            conn.default_channel.queue_delete(queue)
    finally:
        stop(worker)
