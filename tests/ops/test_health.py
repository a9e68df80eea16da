"""`/health`: each dependency reports ok or failed; 200 only when every required one is ok."""

import socket

import pytest

from modules.ops.radius_status import StatusServerError, status_server
from tests.ops.conftest import HEALTH_SECRET, REDIS_TEST_BROKER, closed_port

pytestmark = pytest.mark.django_db

OUTSIDER = "203.0.113.50"


@pytest.fixture(autouse=True)
def _reachable_broker(settings):
    settings.CELERY_BROKER_URL = REDIS_TEST_BROKER
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.HEALTH_REQUIRED_CHECKS = ["database", "broker"]
    settings.HEALTH_RADIUS_SECRET = ""


def test_health_is_200_when_database_and_broker_answer(client):
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["broker"]["required"] is True
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_503_when_the_broker_port_is_closed(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/13"

    response = client.get("/health")

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "failed"
    assert broker["detail"]


def test_an_optional_failing_check_keeps_health_200(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/13"
    settings.HEALTH_REQUIRED_CHECKS = ["database"]

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {
        **response.json()["checks"]["broker"], "status": "failed", "required": False,
    }


def test_rabbitmq_broker_is_checked_too(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"

    response = client.get("/health")

    assert response.status_code == 200
    assert "guest:**@" in response.json()["checks"]["broker"]["detail"]


def test_radius_is_skipped_without_a_probe_secret_and_fails_when_required(client, settings):
    assert client.get("/health").json()["checks"]["radius"]["status"] == "skipped"

    settings.HEALTH_REQUIRED_CHECKS = ["database", "radius"]
    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["radius"]["status"] == "skipped"


def test_radius_status_server_answered_by_a_live_server(client, settings, radius_server):
    host, port = radius_server().auth_address
    settings.RADIUS_AUTH_ADDRESS = f"{host}:{port}"
    settings.HEALTH_RADIUS_SECRET = HEALTH_SECRET
    settings.HEALTH_REQUIRED_CHECKS = ["database", "broker", "radius"]

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["checks"]["radius"]["status"] == "ok"


def test_radius_on_all_addresses_is_probed_on_loopback(client, settings, radius_server):
    _host, port = radius_server().auth_address
    settings.RADIUS_AUTH_ADDRESS = f"0.0.0.0:{port}"
    settings.HEALTH_RADIUS_SECRET = HEALTH_SECRET
    settings.HEALTH_REQUIRED_CHECKS = ["radius"]

    assert client.get("/health").status_code == 200


def test_radius_fails_on_a_closed_port(client, settings):
    settings.RADIUS_AUTH_ADDRESS = f"127.0.0.1:{closed_port(socket.SOCK_DGRAM)}"
    settings.HEALTH_RADIUS_SECRET = HEALTH_SECRET
    settings.HEALTH_REQUIRED_CHECKS = ["database", "radius"]

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["radius"]["status"] == "failed"


def test_radius_that_reports_itself_unhealthy_fails(client, settings, radius_server):
    host, port = radius_server(healthy=False).auth_address
    settings.RADIUS_AUTH_ADDRESS = f"{host}:{port}"
    settings.HEALTH_RADIUS_SECRET = HEALTH_SECRET
    settings.HEALTH_CHECK_TIMEOUT = 0.3
    settings.HEALTH_REQUIRED_CHECKS = ["radius"]

    response = client.get("/health")

    assert response.status_code == 503
    assert "no answer" in response.json()["checks"]["radius"]["detail"]


def test_status_server_with_the_wrong_secret_gets_no_verified_answer(radius_server):
    host, port = radius_server().auth_address

    with pytest.raises(StatusServerError):
        status_server(host, port, b"not-the-secret", timeout=0.3)
    assert status_server(host, port, HEALTH_SECRET.encode()) == 2


def test_outsiders_see_statuses_but_no_error_details(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/13"

    response = client.get("/health", REMOTE_ADDR=OUTSIDER)

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "failed"
    assert "detail" not in broker


def test_health_answers_whatever_host_a_probe_sends(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.net"]

    assert client.get("/health", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/subscribers/index", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_health_refuses_writes(client):
    assert client.post("/health").status_code == 405
