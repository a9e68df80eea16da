import pytest

from modules.core.tenancy import forget_cached_hosts
from tests.browser import browser  # noqa: F401  (one chromium for the whole session)
from tests.world import PASSWORD, build_world


def pytest_configure(config):
    """Tests sign in hundreds of users: a fast hasher keeps the suite quick (production keeps
    Django's PBKDF2 default)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_tenant_cache():
    forget_cached_hosts()
    yield
    forget_cached_hosts()


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def login(client):
    """Sign a user in through the real sign-in page; returns the client."""

    def sign_in(user, host="testserver"):
        response = client.post("/login", {"username": user.username, "password": PASSWORD},
                               HTTP_HOST=host)
        assert response.status_code == 302, response.content[:500]
        return client

    return sign_in
