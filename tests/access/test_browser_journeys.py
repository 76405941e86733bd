"""The journeys of issue 4 in a real browser (Debian's Chromium via Playwright): Public →
instant approval; Restricted → owner, a reminder from the beat task, then a steward; the audit
log shows every step. (Confidential → owner approves: ``test_browser_straight_path.py``.)"""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest

from .conftest import consumer_can_select
from .factories import port_for
from .test_browser_straight_path import CHROMIUM, SHOTS, log_in

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def request_access(page, base, product, purpose_label):
    page.goto(f"{base}/access/products/{product.slug}/request/")
    page.select_option("select[name=purpose_category]", label=purpose_label)
    page.fill("input[name=purpose]", "Quarterly filing")
    page.check("input[name=accept_terms]")
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"request_form_{product.classification}.png"), full_page=True)
    page.click("button:has-text('Send request')")


def test_public_product_is_granted_at_once(live_server, browser, personas, aw_warehouse):
    port = port_for(personas, "public", name="Public holidays", slug="public-holidays", terms_of_use="Be fair.")
    page = browser.new_page()
    log_in(page, live_server.url, "consumer")
    request_access(page, live_server.url, port.data_product, "Analytics and reporting")
    page.wait_for_selector("text=Approved by policy")
    page.wait_for_selector("text=How to connect")
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    page.goto(f"{live_server.url}/notifications/")
    page.wait_for_selector("text=is active")


def test_restricted_goes_to_the_owner_then_a_steward_with_a_reminder(live_server, browser, personas, aw_warehouse):
    os.makedirs(SHOTS, exist_ok=True)
    base = live_server.url
    port = port_for(personas, "restricted", name="Salaries", slug="salaries", terms_of_use="Need to know only.")
    page = browser.new_page()
    # the consumer asks; the form offers only Restricted purposes
    log_in(page, base, "consumer")
    request_access(page, base, port.data_product, "Regulatory reporting")
    page.wait_for_selector("text=Pending approval")
    page.wait_for_selector("text=A governance steward")
    access_request = AccessRequest.objects.get(output_port=port)
    page.context.clear_cookies()
    # the owner approves the first step from the Approvals inbox
    log_in(page, base, "owner")
    page.click("a:has-text('Approvals')")
    page.click(f"a:has-text('#{access_request.pk}')")
    page.fill("textarea[name=comment]", "Fine for the filing")
    page.click("button:has-text('Approve')")
    page.wait_for_selector("li.step-pending >> text=A governance steward")
    page.context.clear_cookies()
    # nobody decides the steward step for days: the beat task reminds the stewards
    services.access_request_remind_due(now=timezone.now() + timedelta(days=5))
    log_in(page, base, "steward")
    page.click("a:has-text('Notifications')")
    page.wait_for_selector("text=Reminder: request waiting")
    page.goto(f"{base}/access/requests/{access_request.pk}/")
    page.screenshot(path=os.path.join(SHOTS, "request_restricted_steward.png"), full_page=True)
    page.fill("textarea[name=comment]", "Regulator asked")
    page.click("button:has-text('Approve')")
    page.wait_for_selector("#request-status >> text=Active")
    # the audit log shows every step
    page.goto(f"{base}/access/governance/audit/?object_type=access_request&object_id={access_request.pk}")
    for action in (
        "access_request.created",
        "access_request.pending_approval",
        "access_request.step_approved",
        "access_request.step_pending",
        "access_request.reminder_sent",
        "access_request.approved",
        "access_request.active",
    ):
        page.wait_for_selector(f"code:text-is('{action}')")
    page.screenshot(path=os.path.join(SHOTS, "audit_restricted.png"), full_page=True)
    page.goto(f"{base}/access/governance/policies/")
    page.wait_for_selector("text=Restricted policy v1")
    page.screenshot(path=os.path.join(SHOTS, "policies.png"), full_page=True)
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
