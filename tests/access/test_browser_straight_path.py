"""The straight path in a real browser (Debian's Chromium driven by Playwright, never a
downloaded browser): consumer requests, owner approves, consumer sees the active grant.

Skipped, with the reason, on a machine without /usr/bin/chromium or the playwright package;
``.ci/run`` installs both so CI runs it.
"""

import os
import re
import shutil

import pytest

from .conftest import consumer_can_select

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]
SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "screenshots")


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_request_approve_and_use(live_server, browser, personas, aw_warehouse):
    os.makedirs(SHOTS, exist_ok=True)
    base = live_server.url
    page = browser.new_page()
    # the consumer finds the product and asks for access
    log_in(page, base, "consumer")
    page.fill("input[name=q]", "Employees")
    page.wait_for_selector("text=Employees")
    page.keyboard.press("Escape")  # close the autocomplete suggestions over the results
    page.click("#results a:has-text('Employees')")
    page.screenshot(path=os.path.join(SHOTS, "product.png"), full_page=False)
    page.click("text=Request access")
    page.fill("input[name=purpose]", "Attrition dashboard")
    page.check("input[name=accept_terms]")
    page.click("button:has-text('Send request')")
    page.wait_for_selector("text=Pending approval")
    request_url = page.url
    page.context.clear_cookies()
    # the owner approves from the inbox
    log_in(page, base, "owner")
    page.click("a:has-text('Approvals')")
    page.click("a:has-text('#')")
    page.fill("textarea[name=comment]", "Fine for the dashboard")
    page.click("button:has-text('Approve')")
    page.wait_for_selector("text=Active")
    page.context.clear_cookies()
    # the consumer sees the active grant and how to connect, and can SELECT
    log_in(page, base, "consumer")
    page.goto(request_url)
    page.wait_for_selector("text=How to connect")
    page.screenshot(path=os.path.join(SHOTS, "request_active.png"), full_page=True)
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
