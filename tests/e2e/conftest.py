"""Browser tests: Playwright driving Debian's chromium (/usr/bin/chromium) against
pytest-django's live server."""

import os
import shutil
import tempfile

import pytest

from govdesk.conftest import skip_or_fail

CHROMIUM = os.environ.get("GOVDESK_CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make around it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser(reference_data):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        skip_or_fail(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="govdesk-chromium-")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def reference_data(django_db_setup, django_db_blocker):
    """The rows data migrations seeded (categories, industries, report kinds), as Django
    serialized them after migrating. Read before Playwright starts: once its event loop
    runs in the test thread, ``connections["default"]`` is another wrapper without them."""
    from django.db import connections

    return getattr(connections["default"], "_test_serialized_contents", "")


@pytest.fixture
def new_page(browser, live_server, reference_data):
    """new_page() -> a page in a fresh browser context (its own cookies), base URL set.
    Browser tests commit for real and the database is flushed around them, so the
    reference rows are put back first (saving a row that exists updates it)."""
    from django.db import connections

    if reference_data:
        connections["default"].creation.deserialize_db_from_string(reference_data)
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, locale="zh-CN")
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def login(page, username, password):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")

