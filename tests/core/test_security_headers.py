"""Issue 11: a strict Content-Security-Policy (nonces, no inline script), Referrer-Policy and
Permissions-Policy on every page; and the template rules that keep the policy workable."""

import re
from pathlib import Path

import pytest

from tests.accounts.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/accounts/profile/", "/api/v1/me/"])
def test_every_response_has_a_strict_csp_and_the_other_headers(client, path):
    client.force_login(UserFactory())
    response = client.get(path)
    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_page_nonce_is_in_the_header_and_fresh_per_response(client):
    client.force_login(UserFactory())
    nonces = []
    for _ in range(2):
        response = client.get("/")
        match = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        assert match and match.group(1) in response.content.decode()  # htmx's style nonce in base.html
        nonces.append(match.group(1))
    assert nonces[0] != nonces[1]


@pytest.mark.django_db
def test_swagger_ui_needs_no_inline_script(client):
    client.force_login(UserFactory())
    response = client.get("/api/docs/")
    csp = _directives(response["Content-Security-Policy"])
    assert "'unsafe-inline'" not in csp["script-src"]
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", html)


def test_templates_follow_the_csp_rules():
    """Rules for every template: an inline <script> or <style> carries nonce="{{ CSP_NONCE }}"; no
    style="..." attributes, no on*="..." event handlers, no javascript: URLs (move them to static/)."""
    problems = []
    for template in sorted((ROOT / "templates").rglob("*.html")) + sorted((ROOT / "apps").rglob("templates/**/*.html")):
        text = template.read_text()
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
            if "src=" not in tag and "CSP_NONCE" not in tag and 'type="application/json"' not in tag:
                problems.append(f"{template.relative_to(ROOT)}: inline {tag} without a nonce")
        if re.search(r"\sstyle=\"", text):
            problems.append(f"{template.relative_to(ROOT)}: style attribute")
        if re.search(r"\son[a-z]+=\"", text):
            problems.append(f"{template.relative_to(ROOT)}: inline event handler")
        if "javascript:" in text:
            problems.append(f"{template.relative_to(ROOT)}: javascript: URL")
    assert not problems, "\n".join(problems)
