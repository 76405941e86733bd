"""The transition tables are the single source of truth; every (from, to) pair is checked.

Rows are unsaved model instances with ``save`` and the audit writer replaced by recorders: what
is under test is the table lookup in the transition functions, not the database.
"""
import itertools

import pytest

from apps.access import services
from apps.access.choices import (
    ACCESS_REQUEST_TRANSITIONS,
    GRANT_TRANSITIONS,
    OPEN_REQUEST_STATES,
    AccessRequestStatus,
    GrantStatus,
)
from apps.access.models import AccessRequest, Grant
from apps.access.services import grants as services_grants
from apps.access.services import transitions as services_transitions
from apps.core.exceptions import ApplicationError


@pytest.fixture
def recorded(monkeypatch):
    events = []
    for module in (services_transitions, services_grants):
        monkeypatch.setattr(module, "audit_record", lambda **kw: events.append(kw))
    return events


def test_every_status_has_a_row():
    assert set(ACCESS_REQUEST_TRANSITIONS) == set(AccessRequestStatus.values)
    assert set(GRANT_TRANSITIONS) == set(GrantStatus.values)


@pytest.mark.parametrize("current,target", list(itertools.product(AccessRequestStatus.values, repeat=2)))
def test_access_request_transition_allowed_exactly_by_the_table(current, target, recorded):
    # given
    saved = []
    request = AccessRequest(status=current)
    request.save = lambda **kw: saved.append(kw)
    # when / then
    if target in ACCESS_REQUEST_TRANSITIONS[current]:
        services._transition(request, target, actor=None, action="test")
        assert request.status == target and saved and recorded[0]["after"] == {"status": target}
    else:
        with pytest.raises(ApplicationError, match="cannot become"):
            services._transition(request, target, actor=None, action="test")
        assert request.status == current and not saved and not recorded


@pytest.mark.parametrize("current,target", list(itertools.product(GrantStatus.values, repeat=2)))
def test_grant_transition_allowed_exactly_by_the_table(current, target, recorded):
    grant = Grant(status=current)
    grant.save = lambda **kw: None
    if target in GRANT_TRANSITIONS[current]:
        services._grant_transition(grant, target)
        assert grant.status == target
    else:
        with pytest.raises(ApplicationError):
            services._grant_transition(grant, target)
        assert grant.status == current


def test_closed_states_go_nowhere_and_open_states_lead_somewhere():
    """A request outside ``OPEN_REQUEST_STATES`` (the one-open-request-per-port rule) is final."""
    for status in AccessRequestStatus:
        assert bool(ACCESS_REQUEST_TRANSITIONS[status]) == (status in OPEN_REQUEST_STATES), status
