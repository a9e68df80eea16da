"""Real-browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Screenshots land in `test-artifacts/` (kept by CI as artifacts).
"""

import pytest

from tests.browser import ARTIFACTS  # the browser fixture itself is in tests/conftest.py


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str):
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
