"""`/metrics`: web, task and RADIUS figures in Prometheus text, for trusted readers only."""

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modules.ops import metrics
from modules.ops.tasks import ping
from radius_server.protocol.counters import Counters
from tests.ops.conftest import closed_port

pytestmark = pytest.mark.django_db

OUTSIDER = "198.51.100.20"


def sample(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return None


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def test_requests_are_counted_by_view_name_and_status(client):
    before = sample(scrape(client), "isp_http_requests_total", view="login", method="GET",
                    status="200") or 0

    client.get("/login")
    client.get("/login")
    client.get("/no-such-page")
    text = scrape(client)

    assert sample(text, "isp_http_requests_total", view="login", method="GET",
                  status="200") == before + 2
    assert sample(text, "isp_http_requests_total", view="unresolved", method="GET",
                  status="404") >= 1
    assert sample(text, "isp_http_request_duration_seconds_count", view="login",
                  method="GET") >= 2
    assert "/no-such-page" not in text  # paths never become label values


def test_celery_task_successes_and_failures_are_counted():
    text = metrics.render()[0].decode()
    succeeded = sample(text, "isp_celery_tasks_total", task="ops.ping", state="succeeded") or 0
    failed = sample(text, "isp_celery_tasks_total", task="ops.ping", state="failed") or 0

    ping.apply(kwargs={"source": "metrics-test"})
    ping.apply(kwargs={"source": "x" * 500})  # too long for the column: the task fails
    text = metrics.render()[0].decode()

    assert sample(text, "isp_celery_tasks_total", task="ops.ping",
                  state="succeeded") == succeeded + 1
    assert sample(text, "isp_celery_tasks_total", task="ops.ping", state="failed") == failed + 1
    assert sample(text, "isp_celery_task_duration_seconds_count", task="ops.ping") >= 2


def test_radius_counters_are_published_as_deltas():
    counters = Counters()
    publisher = metrics.RadiusCounterPublisher()
    text = metrics.render()[0].decode()
    accepts = sample(text, "isp_radius_replies_total", kind="accept", reason="") or 0
    rejects = sample(text, "isp_radius_replies_total", kind="reject",
                     reason="wrong_password") or 0

    for _ in range(3):
        counters.accepted(0.002)
    counters.rejected("wrong_password", 0.004)
    counters.dropped("unknown_client")
    publisher.publish(counters.snapshot())
    counters.accepted(0.001)
    publisher.publish(counters.snapshot())
    text = metrics.render()[0].decode()

    assert sample(text, "isp_radius_replies_total", kind="accept", reason="") == accepts + 4
    assert sample(text, "isp_radius_replies_total", kind="reject",
                  reason="wrong_password") == rejects + 1
    assert sample(text, "isp_radius_drops_total", reason="unknown_client") >= 1
    assert 0 < sample(text, "isp_radius_latency_seconds", quantile="0.99") < 0.01


def test_a_process_can_serve_its_own_exporter():
    port = closed_port()
    server = metrics.start_exporter(port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert b"isp_radius_replies_total" in answer.read()
    finally:
        server.shutdown()
        server.server_close()


def test_outsiders_are_refused(client):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER).status_code == 403


def test_allowlisted_networks_may_scrape(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["198.51.100.0/24"]

    scrape(client, REMOTE_ADDR=OUTSIDER)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_a_bearer_token_opens_metrics_from_anywhere(client, settings):
    settings.METRICS_BEARER_TOKEN = "scrape-token-7f3a"

    scrape(client, REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer scrape-token-7f3a")
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER,
                      HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_requests_relayed_by_nginx_are_judged_by_the_real_client(client):
    forged_then_real = f"127.0.0.1, {OUTSIDER}"

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR=forged_then_real)

    assert response.status_code == 403
    scrape(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")


def test_forwarded_header_from_an_untrusted_peer_is_ignored(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 403
