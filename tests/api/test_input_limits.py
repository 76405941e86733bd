"""Issue 11: no input takes a worker down, and bad input is a 400 with a field message.

Each test reproduces a finding against the real PostgreSQL (the world of tests/api/conftest.py):
before the fix they answered 500 (or parsed an alias bomb for seconds); now they answer 400.
"""

from __future__ import annotations

import pytest

from apps.catalog.models import DataContract, DataProduct
from apps.core.parsing import InputLimitError, safe_load_json, safe_load_yaml
from tests.api.conftest import api_client

URL = "/api/v1/data-products/publish-contract/?domain=human-resources&owner_team=hr-data"

# The 646-byte "billion laughs" of the report: 9 levels of 9 aliases (~387 million strings).
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(ord('b') + i)}: &{chr(ord('b') + i)} [{','.join(['*' + chr(ord('a') + i)] * 9)}]\n" for i in range(8)
)


def _contract(extra: str = "") -> str:
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: limits\nversion: 1.0.0\nname: limits\n"
        "dataProduct: Limits\nteam: {name: HR Data}\n" + extra
    )


# --- the parsing module ----------------------------------------------------------------------


def test_yaml_aliases_and_anchors_are_refused_before_any_expansion():
    with pytest.raises(InputLimitError, match="anchors"):
        safe_load_yaml(ALIAS_BOMB)
    with pytest.raises(InputLimitError, match="alias"):
        safe_load_yaml("a: *undefined\n")


@pytest.mark.parametrize(
    "text,message",
    [
        ("[" * 10_000 + "]" * 10_000, "deeper than"),
        ("a: " + "9" * 100_000 + "\n", "digits"),
        ("x" * 3_000_000, "too large"),
        ("a: [unclosed", "line 1"),
    ],
)
def test_yaml_limits(text, message):
    with pytest.raises(InputLimitError, match=message) as caught:
        safe_load_yaml(text, field="contract")
    assert list(caught.value.extra) == ["contract"]


@pytest.mark.parametrize(
    "text,message",
    [
        ("[" * 50_000 + "]" * 50_000, "deeper than"),
        ("[" * 100 + "]" * 100, "deeper than"),
        ('{"output_port": 1e400}', "too large"),
        ('{"n": NaN}', "NaN"),
        ('{"n": -Infinity}', "Infinity"),
        ('{"n": ' + "1" * 100_000 + "}", "digits"),
        ("{oops", "line 1"),
    ],
)
def test_json_limits(text, message):
    with pytest.raises(InputLimitError, match=message):
        safe_load_json(text)


def test_plain_documents_still_parse():
    assert safe_load_yaml("a: [1, 2.5, {b: c}]\nd: 2026-01-01\n")["a"] == [1, 2.5, {"b": "c"}]
    assert safe_load_json(b'\xef\xbb\xbf{"a": [1, 2.5e3, null]}') == {"a": [1, 2500.0, None]}


# --- publish-contract ------------------------------------------------------------------------


def test_the_alias_bomb_from_someone_without_rights_is_refused_before_parsing(world, monkeypatch):
    # given a user who owns no team, and a parser that would record being called
    called = []
    import apps.core.parsing as parsing

    monkeypatch.setattr(parsing, "safe_load_yaml", lambda *a, **k: called.append(1))
    # when they post the 646-byte alias bomb
    response = api_client(world.unrelated).generic("POST", URL, ALIAS_BOMB, content_type="application/yaml")
    # then it is a 403 and the YAML was never parsed
    assert response.status_code == 403
    assert called == []


def test_the_alias_bomb_from_an_owner_is_a_400_field_error(world):
    response = api_client(world.owner).generic(
        "POST", URL, _contract(ALIAS_BOMB.replace("a:", "x-a:", 1)), content_type="application/yaml"
    )
    assert response.status_code == 400, response.content
    assert "anchors" in response.json()["errors"]["contract"][0]
    assert not DataContract.objects.exists() and DataProduct.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        _contract("tags: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        _contract("customProperties: [{property: size, value: " + "7" * 100_000 + "}]\n"),
    ],
)
def test_deep_or_huge_yaml_in_a_contract_is_a_400(world, body):
    response = api_client(world.owner).generic("POST", URL, body, content_type="application/yaml")
    assert response.status_code == 400, response.content[:300]
    assert "contract" in response.json()["errors"]


def test_an_oversized_yaml_body_is_refused_unread(world, settings):
    settings.INPUT_CONTRACT_MAX_BYTES = 1000
    response = api_client(world.owner).generic(
        "POST", URL, _contract("x: " + "y" * 2000 + "\n"), content_type="application/yaml"
    )
    assert response.status_code == 400
    assert "too large" in response.json()["errors"]["contract"][0]


# --- JSON bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"output_port": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"output_port": 1e400, "purpose": "x"}',
        '{"output_port": ' + "9" * 100_000 + "}",
    ],
)
def test_bad_json_bodies_are_a_400_with_a_field_message(world, body):
    response = api_client(world.consumer).generic(
        "POST", "/api/v1/access-requests/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"]["body"]


# --- NUL characters, impossible offsets ------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/?q=%00", "/?domain=%00", "/?q=sales&classification=a%00b", "/people/%00/", "/teams/a%00b/"]
)
def test_a_nul_in_a_page_url_is_a_400(world, client, path):
    client.force_login(world.consumer)
    assert client.get(path).status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/v1/data-products/?q=%00", "/api/v1/data-products/?domain=x%00", "/api/v1/teams/%00/"]
)
def test_a_nul_in_an_api_url_is_a_400_with_the_parameter_named(world, path):
    response = api_client(world.consumer).get(path)
    assert response.status_code == 400
    assert "NUL" in response.json()["message"]


def test_an_impossible_utc_offset_on_the_audit_endpoint_is_a_400(world):
    response = api_client(world.steward).get("/api/v1/audit-events/?at_before=2026-01-01T00:00:00-19:00")
    assert response.status_code == 400, response.content
    assert "at_before" in str(response.json()["errors"]) or "at" in response.json()["errors"]
    ok = api_client(world.steward).get("/api/v1/audit-events/?at_before=2026-01-01T00:00:00-05:00")
    assert ok.status_code == 200
