"""Every URL of the module map answers: the page itself or a redirect to it."""

import subprocess
import sys

import pytest
from django.test import RequestFactory

from modules.core.navigation import MODULES, sidebar

pytestmark = pytest.mark.django_db

MODULE_URLS = ["/login", *[f"/{m.path}" for m in MODULES]]


def test_module_map_covers_the_design():
    assert {f"/{m.path}" for m in MODULES} >= {
        "/dashboard/index", "/subscribers/index", "/plans/index", "/partners/index",
        "/nas-devices/index", "/billing/invoices/index", "/inventory/index", "/tickets/index",
        "/reports/index", "/settings/index",
    }


@pytest.mark.parametrize("url", MODULE_URLS)
def test_module_url_answers_for_an_isp_admin(world, login, url):
    client = login(world.users["isp_admin"])
    response = client.get(url, follow=True)
    assert response.status_code == 200, url


@pytest.mark.parametrize("url", [u for u in MODULE_URLS if u != "/login"])
def test_module_url_sends_anonymous_users_to_sign_in(client, db, url):
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and "login" in response.redirect_chain[-1][0]


def test_sidebar_follows_the_module_map_order(world):
    request = RequestFactory().get("/admin/")
    request.user = world.users["isp_admin"]
    titles = [group["title"] for group in sidebar(request)]
    order = [m.title for m in MODULES]
    assert titles == [t for t in order if t in titles]
    assert "Dashboard" in titles and "Settings" in titles


def test_partner_sidebar_has_no_tenant_level_items(world):
    request = RequestFactory().get("/admin/")
    request.user = world.users["dist"]
    links = [item["link"] for group in sidebar(request) for item in group["items"]]
    assert "/admin/core/role/" not in links
    assert "/admin/django_celery_beat/periodictask/" not in links
    assert "/admin/core/organization/" in links


def test_demo_data_loads_twice_without_duplicates(db):
    from fixtures.demo import load
    from modules.core.models import Organization, User

    first = load()
    counts = (Organization.objects.count(), User.objects.count())
    load()
    assert (Organization.objects.count(), User.objects.count()) == counts
    assert ("ISP admin", "admin") in first["logins"]
    assert User.objects.get(username="kothrud").organization.code == "kothrud"


def test_deploy_check_with_production_settings_reports_nothing_serious(tmp_path):
    env = {
        "ISP_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "k" * 40,
        "FIELD_ENCRYPTION_KEY": "W4XkbJ3ogWQv1cBV2L0lIu7oBFb4ENbuQDc4UIxz0yA=",
        "DJANGO_ALLOWED_HOSTS": "portal.example.net",
        "ISP_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    import os

    env["DATABASE_URL"] = os.environ.get("DATABASE_URL", "")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
