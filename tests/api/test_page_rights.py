"""Restricted querysets (``.visible_to(user)``) and the page-wide rights of the list endpoints (issue 12).

The bulk rules (``decidable_request_ids``, ``revocable_grant_ids``) must agree with the single-object
ones (``can_decide``, ``can_revoke``) on a mixed fixture: consumer, owner, approver (a delegate of the
owner), steward, superuser, an inactive approver, and segregation-of-duties cases (own request, own
team's request, an earlier step decided, a delegator barred). The list endpoints' query counts do not
grow with the number of rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.access import permissions, selectors
from apps.access import services as access_services
from apps.access.choices import ApprovalStepKind, ApprovalStepStatus, GrantStatus
from apps.access.models import AccessRequest, ApprovalStep, Grant
from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.audit.models import AuditEvent
from apps.catalog.models import DataProduct
from tests.accounts.factories import TeamFactory, UserFactory
from tests.api.conftest import api_client
from tests.catalog.factories import OutputPortFactory


def _submit(requester, port, **kwargs):
    return access_services.access_request_submit(
        requester=requester,
        output_port=port,
        purpose="Analysis",
        expires_at=timezone.now() + timedelta(days=30),
        **kwargs,
    )


@pytest.fixture
def mixed(world, django_capture_on_commit_callbacks):
    """On top of ``world``: a team ``analysts`` (unrelated: owner, approver: member); requests by the
    owner (own request), for the analysts team (approver's team), one with a named step (steward named,
    analysts' approvers) and one whose second step the approver may not decide (they approved step 1);
    grants in every state; an inactive approver of the owner team."""
    w = world
    analysts = TeamFactory(name="Analysts", slug="analysts")
    team_membership_set(team=analysts, user=w.unrelated, role=TeamRole.OWNER)
    team_membership_set(team=analysts, user=w.approver, role=TeamRole.MEMBER)
    inactive = UserFactory(username="gone")
    team_membership_set(team=w.team, user=inactive, role=TeamRole.APPROVER)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    ports = [
        OutputPortFactory(data_product=w.product, name=f"port {i}", platform=w.platform, schema=f"s{i}")
        for i in range(6)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        own = _submit(w.owner, ports[0])
        for_team = _submit(w.unrelated, ports[1], on_behalf_of_team=analysts)
        named = _submit(w.consumer, ports[2])
        four_eyes = _submit(w.consumer, ports[3])
        revoked = _submit(w.consumer, ports[4])
        failed = _submit(w.consumer, ports[5])
        for r in (revoked, failed):
            access_services.access_request_approve(access_request_id=r.pk, actor=w.owner)
    step = named.steps.get(status=ApprovalStepStatus.PENDING)
    step.kind, step.team = ApprovalStepKind.NAMED, analysts
    step.save(update_fields=["kind", "team"])
    step.named_users.set([w.steward])
    first = four_eyes.steps.get(status=ApprovalStepStatus.PENDING)
    first.status, first.decided_by, first.on_behalf_of = ApprovalStepStatus.APPROVED, w.approver, w.owner
    first.save(update_fields=["status", "decided_by", "on_behalf_of"])
    ApprovalStep.objects.filter(access_request=four_eyes, order__gt=first.order).delete()
    second = ApprovalStep.objects.create(
        access_request=four_eyes,
        order=first.order + 1,
        kind=ApprovalStepKind.NAMED,
        status=ApprovalStepStatus.PENDING,
        team=w.team,
    )
    second.named_users.set([w.approver, w.steward])
    Grant.objects.filter(access_request=revoked).update(status=GrantStatus.REVOKED)
    Grant.objects.filter(access_request=failed).update(status=GrantStatus.FAILED)
    w.inactive, w.analysts = inactive, analysts
    w.own, w.for_team, w.named, w.four_eyes = own, for_team, named, four_eyes
    return w


def _people(w):
    return {
        "anonymous": AnonymousUser(),
        "consumer": w.consumer,
        "owner": w.owner,
        "approver": w.approver,
        "unrelated": w.unrelated,
        "steward": w.steward,
        "admin": w.admin,
        "inactive": w.inactive,
    }


def _fresh(user):
    """A fresh instance (no remembered steward flag or permission cache), as each request has."""
    return user if not user.is_authenticated else type(user).objects.get(pk=user.pk)


def test_bulk_decide_agrees_with_can_decide(mixed):
    requests = list(selectors._base().order_by("pk"))
    expected_true = set()
    for name, user in _people(mixed).items():
        single = {r.pk for r in requests if permissions.can_decide(user=_fresh(user), access_request=r)}
        bulk = permissions.decidable_request_ids(user=_fresh(user), requests=requests)
        assert bulk == single, name
        expected_true |= {(name, pk) for pk in single}
    w = mixed
    # the cases the fixture is for actually occur, both ways
    assert ("owner", w.request.pk) in expected_true and ("approver", w.request.pk) in expected_true
    assert ("consumer", w.request.pk) not in expected_true and ("steward", w.request.pk) not in expected_true
    assert ("admin", w.request.pk) in expected_true and ("inactive", w.request.pk) not in expected_true
    assert ("owner", w.own.pk) not in expected_true  # own request
    assert ("approver", w.own.pk) in expected_true  # by their own right, not as the owner's delegate
    assert ("approver", w.for_team.pk) not in expected_true  # their team's request
    assert ("owner", w.for_team.pk) in expected_true
    assert ("steward", w.named.pk) in expected_true and ("unrelated", w.named.pk) in expected_true
    assert ("approver", w.named.pk) not in expected_true  # a member, not an approver, of analysts
    assert ("approver", w.four_eyes.pk) not in expected_true  # approved step 1 (four eyes)
    assert ("owner", w.four_eyes.pk) not in expected_true  # step 1 was decided on their behalf
    assert ("steward", w.four_eyes.pk) in expected_true


def test_bulk_revoke_agrees_with_can_revoke(mixed):
    grants = list(selectors.grant_visible(user=mixed.admin).order_by("pk"))
    assert {g.status for g in grants} >= {GrantStatus.PENDING, GrantStatus.REVOKED, GrantStatus.FAILED}
    seen_true = set()
    for name, user in _people(mixed).items():
        single = {g.pk for g in grants if permissions.can_revoke(user=_fresh(user), grant=g)}
        assert permissions.revocable_grant_ids(user=_fresh(user), grants=grants) == single, name
        seen_true |= {name for _ in single}
    assert {"consumer", "owner", "approver", "admin"} <= seen_true
    assert not seen_true & {"anonymous", "unrelated", "inactive"}


def test_visible_to_is_what_the_selectors_return(mixed):
    for name, user in _people(mixed).items():
        user = _fresh(user)
        assert set(AccessRequest.objects.visible_to(user)) == set(selectors.access_request_visible(user=user)), name
        assert set(Grant.objects.visible_to(user)) == set(selectors.grant_visible(user=user)), name
    assert not AccessRequest.objects.visible_to(AnonymousUser()).exists()
    assert set(AccessRequest.objects.visible_to(_fresh(mixed.consumer))) == set(
        AccessRequest.objects.filter(requester=mixed.consumer)
    )
    assert AccessRequest.objects.visible_to(_fresh(mixed.steward)).count() == AccessRequest.objects.count()
    # escalated steps show the request to the domain's owner team only while escalated: covered by the selector tests


def test_data_product_and_audit_visible_to(mixed):
    w = mixed
    assert w.draft in DataProduct.objects.visible_to(_fresh(w.owner))
    assert w.draft not in DataProduct.objects.visible_to(_fresh(w.consumer))
    assert w.draft in DataProduct.objects.visible_to(_fresh(w.steward))
    assert not DataProduct.objects.visible_to(AnonymousUser()).exists()
    assert AuditEvent.objects.visible_to(_fresh(w.steward)).count() == AuditEvent.objects.count() > 0
    assert AuditEvent.objects.visible_to(_fresh(w.admin)).count() == AuditEvent.objects.count()
    assert not AuditEvent.objects.visible_to(_fresh(w.owner)).exists()
    assert not AuditEvent.objects.visible_to(AnonymousUser()).exists()


def _more_requests(w, n: int, capture):
    """``n`` more pending requests by the consumer on new ports of the product, and ``n`` approved ones
    (their grants pending)."""
    with capture(execute=False):
        for i in range(n):
            _submit(
                w.consumer,
                OutputPortFactory(data_product=w.product, name=f"extra {i}", platform=w.platform, schema=f"x{i}"),
            )
            approved = _submit(
                w.consumer,
                OutputPortFactory(data_product=w.product, name=f"more {i}", platform=w.platform, schema=f"y{i}"),
            )
            access_services.access_request_approve(access_request_id=approved.pk, actor=w.owner)


def _count(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["count"]


# The approver (the owner's delegate: two principals) lists every request they may see; the consumer every grant.
ACCESS_REQUESTS_QUERIES = 16
GRANTS_QUERIES = 10


@pytest.mark.parametrize("who", ["approver", "consumer", "steward"])
def test_list_query_counts_do_not_grow_with_rows(world, who, django_capture_on_commit_callbacks):
    client = api_client(getattr(world, who))
    for url in ("/api/v1/access-requests/", "/api/v1/grants/"):
        client.get(url)  # warm the token and content type caches
    few_requests, n_requests = _count(client, "/api/v1/access-requests/")
    few_grants, n_grants = _count(client, "/api/v1/grants/")
    _more_requests(world, 5, django_capture_on_commit_callbacks)
    many_requests, more_requests = _count(client, "/api/v1/access-requests/")
    many_grants, more_grants = _count(client, "/api/v1/grants/")
    assert more_requests >= n_requests + 10 and more_grants >= n_grants + 5
    assert many_requests == few_requests and many_grants == few_grants


def test_list_query_counts_are_pinned(world, django_assert_num_queries, django_capture_on_commit_callbacks):
    _more_requests(world, 5, django_capture_on_commit_callbacks)
    client = api_client(world.approver)
    client.get("/api/v1/access-requests/")
    with django_assert_num_queries(ACCESS_REQUESTS_QUERIES):
        response = client.get("/api/v1/access-requests/")
    assert response.json()["count"] == 12 and sum(r["can_decide"] for r in response.json()["results"]) == 6
    client = api_client(world.consumer)
    client.get("/api/v1/grants/")
    with django_assert_num_queries(GRANTS_QUERIES):
        response = client.get("/api/v1/grants/")
    assert response.json()["count"] == 6 and all(g["can_revoke"] for g in response.json()["results"])
