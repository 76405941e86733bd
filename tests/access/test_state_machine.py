"""The transition tables are the single source of truth; every (from, to) pair is checked.

Rows are unsaved model instances with ``save`` and the audit writer replaced by recorders: what
is under test is the table lookup in the one transition helper (``apps.audit.transitions``) as
the access services configure it, not the database.
"""

import itertools

import pytest

from apps.access import services
from apps.access.choices import (
    ACCESS_REQUEST_TRANSITIONS,
    APPROVAL_STEP_TRANSITIONS,
    GRANT_TRANSITIONS,
    OPEN_REQUEST_STATES,
    AccessRequestStatus,
    ApprovalStepStatus,
    GrantStatus,
)
from apps.access.models import AccessRequest, ApprovalStep, Grant
from apps.access.services import transitions as services_transitions
from apps.audit import transitions as audit_transitions
from apps.core.exceptions import ApplicationError


@pytest.fixture
def recorded(monkeypatch):
    events = []
    monkeypatch.setattr(audit_transitions, "audit_record", lambda **kw: events.append(kw))
    return events


def test_every_status_has_a_row():
    assert set(ACCESS_REQUEST_TRANSITIONS) == set(AccessRequestStatus.values)
    assert set(GRANT_TRANSITIONS) == set(GrantStatus.values)
    assert set(APPROVAL_STEP_TRANSITIONS) == set(ApprovalStepStatus.values)


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
        assert [e["after"] for e in recorded] == ([] if current == target else [{"status": target}])
    else:
        with pytest.raises(ApplicationError, match=f"Grant #None is {current}; it cannot become {target}."):
            services._grant_transition(grant, target)
        assert grant.status == current and not recorded


@pytest.mark.parametrize("current,target", list(itertools.product(ApprovalStepStatus.values, repeat=2)))
def test_approval_step_transition_allowed_exactly_by_the_table(current, target, recorded):
    # given: an unsaved step of an unsaved request (the audit event is about the request)
    saved = []
    request = AccessRequest(status=AccessRequestStatus.PENDING_APPROVAL)
    step = ApprovalStep(access_request=request, order=1, status=current)
    step.save = lambda **kw: saved.append(kw)
    # when / then
    if target in APPROVAL_STEP_TRANSITIONS[current]:
        services_transitions._step_transition(step, target, actor=None, action="test")
        assert step.status == target and saved == [{"update_fields": ["status"]}]
        assert recorded[0]["obj"] is request and recorded[0]["after"] == {"status": target}
    else:
        with pytest.raises(ApplicationError, match="cannot become"):
            services_transitions._step_transition(step, target, actor=None, action="test")
        assert step.status == current and not saved and not recorded


def test_decided_and_cancelled_steps_go_nowhere():
    for status in (ApprovalStepStatus.APPROVED, ApprovalStepStatus.REJECTED, ApprovalStepStatus.CANCELLED):
        assert APPROVAL_STEP_TRANSITIONS[status] == frozenset()


def test_closed_states_go_nowhere_and_open_states_lead_somewhere():
    """A request outside ``OPEN_REQUEST_STATES`` (the one-open-request-per-port rule) is final."""
    for status in AccessRequestStatus:
        assert bool(ACCESS_REQUEST_TRANSITIONS[status]) == (status in OPEN_REQUEST_STATES), status
