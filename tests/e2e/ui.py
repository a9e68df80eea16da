"""What an operator does with the admin pages, as short steps for end-to-end tests.

Every step waits for what the page shows (a selector, a message, a URL), never for time.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.world import PASSWORD

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/"))


def sidebar(page: Page) -> str:
    """The module menu as the user sees it."""
    return page.locator("#nav-sidebar-inner, nav, aside").first.inner_text()


def open_settings_section(page: Page, base: str, title: str) -> None:
    """Settings hub -> one card (General, Billing Engine, ...)."""
    page.goto(f"{base}/settings/index")
    page.click(f'[data-section="{title}"]')
    expect(page.locator("button[name=_save]")).to_be_visible()


def open_tab(page: Page, title: str) -> None:
    """Unfold's fieldset tabs: only the active tab's fields are visible."""
    tab = page.locator("a[x-on\\:click^=activeFieldsetTab]", has_text=title).first
    tab.click()
    expect(page.locator(f".fieldset-{title.lower().replace(' ', '-')}").first).to_be_visible()


def save(page: Page, expected: str = "successfully") -> None:
    """Press Save and insist on the success message (a form error fails with its text)."""
    with page.expect_navigation():
        page.click("button[name=_save]")
    body = page.inner_text("body")
    assert expected in body, _errors(page) or body[:1500]


def _errors(page: Page) -> str:
    errors = page.locator(".errornote, .errorlist")
    return " | ".join(errors.all_inner_texts())


def run_dialog(page: Page, action: str, fields: dict[str, str] | None = None,
               selects: dict[str, str] | None = None) -> None:
    """A detail action in an unfold dialog (a POST): open it, fill it, submit it."""
    page.get_by_role("link", name=action).first.click()
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    for name, value in (fields or {}).items():
        dialog.locator(f"[name={name}]").fill(value)
    for name, label in (selects or {}).items():
        dialog.locator(f"select[name={name}]").select_option(label=label)
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()


def pick_related(page: Page, field: str, term: str) -> None:
    """A raw-id field: the lookup opens the related list in a popup; search, click the row."""
    with page.expect_popup() as opened:
        page.click(f"#lookup_id_{field}")
    popup = opened.value
    popup.fill("input[name=q]", term)
    popup.press("input[name=q]", "Enter")
    popup.locator("#result_list tbody a", has_text=term).first.click()
    expect(page.locator(f"#id_{field}")).not_to_have_value("")


@contextmanager
def evidence_on_failure(page: Page, screenshot):
    """A failing journey leaves the page it failed on (image and HTML) in test-artifacts/."""
    try:
        yield
    except Exception:
        screenshot("failure")
        (ARTIFACTS_DIR / "journey-failure.html").write_text(page.content())
        raise
