"""Several gunicorn web workers against one PostgreSQL, their metrics added up in one place."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import closed_port
from tests.ops.test_celery_workers import database_url, stop

ROOT = Path(__file__).resolve().parents[2]
MAX_REQUESTS = 800


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_serve_and_report_one_total(tmp_path):
    port, shared = closed_port(), tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url(), "WEB_CONCURRENCY": "2",
           "GUNICORN_THREADS": "1", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "PROMETHEUS_MULTIPROC_DIR": str(shared), "DJANGO_SETTINGS_MODULE": "config.settings"}
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
         "--worker-class", "sync", "config.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, body = get(f"{base}/health")
                break
            except OSError:
                assert time.monotonic() < deadline and web.poll() is None, stop(web)
                time.sleep(0.5)
        assert status in (200, 503) and b'"database": {"status": "ok"' in body
        # Eight clients at once, in rounds until both workers have answered: which sync worker
        # accepts a connection is up to the kernel, so a single round may land on one.
        sent, workers = 0, set()
        with ThreadPoolExecutor(8) as clients:
            while len(workers) < 2 and sent < MAX_REQUESTS:
                statuses = set(clients.map(lambda _: get(f"{base}/no-such-page")[0], range(8)))
                sent += 8
                workers = {p.stem.rsplit("_", 1)[-1] for p in shared.glob("counter_*.db")}
        status, text = get(f"{base}/metrics")
    finally:
        log = stop(web)
    assert status == 200, log
    total = sum(sample.value for family in text_string_to_metric_families(text.decode())
                for sample in family.samples if sample.name == "isp_http_requests_total")
    assert total == sent, (statuses, log)  # both workers' counts, added up
    assert len(workers) == 2, log  # two processes answered
