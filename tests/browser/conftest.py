"""A real browser for the persona journeys: Debian's Chromium through Playwright, a page checker
(axe-core, console errors, failed assets, phone overflow, screenshots), and the personas on the
real AdventureWorks warehouse (``tests/access/conftest.py``) with a synced platform."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from apps.accounts.choices import EXECUTIVES_GROUP
from tests.access.conftest import aw_platform, make_personas  # noqa: F401 - fixtures used here
from tests.accounts.factories import UserFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
AXE_JS = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PASSWORD = "pw"  # tests.accounts.factories.UserFactory's password

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def chromium():
    """Headless Debian Chromium; the test fails (not skips) when it is missing: CI installs it."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    assert os.path.exists(CHROMIUM), f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class PageChecker:
    """One persona in one viewport: a logged-in browser context whose every page is checked.

    ``visit(path, name)`` (or ``check(name)`` after an interaction) saves a screenshot as
    ``var/test-artifacts/<persona>/<name>-<viewport>.png`` and asserts: no serious or critical
    axe-core violation, no console error or uncaught exception, no page asset answering 4xx/5xx,
    and, on the phone, a page no wider than the viewport whose wide tables scroll inside a named,
    focusable region (``.table-wrap[role=region][tabindex=0][aria-label]``).
    """

    def __init__(self, browser, base: str, persona: str, viewport: str):
        self.base, self.persona, self.viewport = base, persona, viewport
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], reduced_motion="reduce")
        self.context.set_default_timeout(30_000)
        # axe-core goes in as an init script (through the DevTools protocol): the portal's strict
        # CSP rightly refuses an inline <script>, and the pages themselves stay under that CSP.
        self.context.add_init_script(script=AXE_JS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("response", self._response)
        self.visited: list[str] = []

    def _response(self, response):
        if (
            response.status >= 400
            and response.url.startswith(self.base)
            and response.request.resource_type != "document"
        ):
            self.problems.append(f"{response.status} for asset {response.url}")

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/$"))
        self.page.wait_for_load_state("load")

    def visit(self, path: str, name: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"
        self.check(name)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.visited.append(page.url)
        folder = ARTIFACTS / self.persona
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}-{self.viewport}.png"), full_page=True)
        violations = page.evaluate(
            """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.impact} ${v.id}: ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))"""
        )
        assert not violations, f"{self.persona}/{name} ({self.viewport}) axe: {violations}"
        if self.viewport == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= VIEWPORTS["phone"]["width"], f"{self.persona}/{name}: {width}px wide on a 390px phone"
            # a table wider than the phone scrolls inside a named region a keyboard can reach
            unreachable = page.evaluate("""() => Array.from(document.querySelectorAll('main table'))
                .filter(t => { const box = t.closest('.table-wrap') || t; return box.scrollWidth > box.clientWidth + 1; })
                .filter(t => !t.closest('[role=region][tabindex="0"][aria-label], table[tabindex="0"][aria-label]'))
                .map(t => (t.querySelector('caption, th') || t).textContent.trim().slice(0, 40))""")
            assert not unreachable, (
                f"{self.persona}/{name}: tables scroll outside a focusable, named region: {unreachable}"
            )
        assert not self.problems, f"{self.persona}/{name} ({self.viewport}): {self.problems}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def checker(chromium, live_server):
    """``checker(persona, viewport="desktop")`` -> a logged-in-able ``PageChecker``; closed after."""
    made = []

    def make(persona: str, viewport: str = "desktop") -> PageChecker:
        c = PageChecker(chromium, live_server.url, persona, viewport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def replay_on_phone(make, persona: str, username: str, pages: list[tuple[str, str]]) -> None:
    """Check ``pages`` (``(path, name)``) again on the 390 px phone viewport."""
    phone = make(persona, "phone")
    phone.log_in(username)
    for path, name in pages:
        phone.visit(path, name)


@pytest.fixture
def world(db, aw_platform, pg_consumer_login):  # noqa: F811 - aw_platform is the imported fixture
    """The personas of ``tests/access`` on the real AdventureWorks warehouse (the platform
    synced, so tables and columns are in the catalog and the search index), plus an executive
    and a platform admin."""
    from apps.search.indexing import index_products
    from apps.sync.services import platform_sync

    login, password = pg_consumer_login
    personas = make_personas(platform=aw_platform, schema="humanresources", login=login, password=password)
    aw_platform.include_schemas = ["humanresources"]
    aw_platform.save(update_fields=["include_schemas"])
    platform_sync(platform=aw_platform)
    personas.executive = UserFactory(username="executive", first_name="Eve", last_name="Exec")
    personas.executive.groups.add(Group.objects.get_or_create(name=EXECUTIVES_GROUP)[0])
    personas.admin = UserFactory(
        username="admin", first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True
    )
    personas.product.description = (
        "Everyone who works for Adventure Works.\n\n| column | meaning |\n|---|---|\n| `salary` | yearly, in USD |"
    )
    personas.product.save()
    index_products()
    return personas
