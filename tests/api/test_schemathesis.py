"""Property-based tests generated from the live OpenAPI schema (schemathesis + Hypothesis).

Every operation of ``/api/schema/`` is called with generated valid and invalid input, as a
signed-in consumer (API token) in the API test world, through the WSGI app. Each response must
not be a 5xx, must use a documented status code and content type, and must match the documented
body schema. ``SCHEMATHESIS_MAX_EXAMPLES`` (default 5 per operation and phase; with the
explicit-example and coverage phases that is about 3,700 requests over 71 operations in about a minute) sizes the run; the
number of cases sent is written to ``var/schemathesis-<worker>.json`` and printed at the end of
the run (see ``tests/api/conftest.py``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from apps.core.api.urls import urlpatterns  # noqa: F401 - fail fast if the API does not import
from mesh_portal.wsgi import application

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]
CASES: Counter[str] = Counter()
_RAW_SCHEMA = None
COUNTS_FILE = (
    Path(__file__).resolve().parents[2] / "var" / f"schemathesis-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
)


@pytest.fixture
def api_schema(world):
    # Like Django's test client: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    global _RAW_SCHEMA
    if _RAW_SCHEMA is None:  # fetch the live schema once per process; each operation reuses it
        loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
        _RAW_SCHEMA = loaded.raw_schema
    else:
        loaded = schemathesis.openapi.from_dict(_RAW_SCHEMA)
        loaded.app, loaded.location = application, "/api/schema/"
    yield loaded
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def consumer_token(world):
    from tests.api.conftest import api_token

    return api_token(world.consumer)


@pytest.fixture(scope="module", autouse=True)
def _record_counts():
    yield
    COUNTS_FILE.parent.mkdir(exist_ok=True)
    COUNTS_FILE.write_text(json.dumps({"cases": sum(CASES.values()), "operations": len(CASES)}))
    if len(CASES) >= 65:  # the whole schema ran (not a -k subset): the run must be substantial
        assert sum(CASES.values()) >= 1000, CASES


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_schema(case, consumer_token, django_capture_on_commit_callbacks):
    # given a generated request; when the consumer sends it (side effects captured, not run)
    with django_capture_on_commit_callbacks(execute=False):
        case.call_and_validate(headers={"Authorization": f"Token {consumer_token}"}, checks=CHECKS)
    # then no 5xx and the answer is what the schema documents (checked by call_and_validate)
    CASES[f"{case.operation.method.upper()} {case.operation.path}"] += 1
