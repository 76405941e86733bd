"""Raising a product's classification re-evaluates its live grants by the new policy (issue 11):
Public → Restricted cannot leave Public-era grants standing unseen. On the real warehouse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Purpose
from apps.audit.models import AuditEvent
from apps.catalog.services import data_product_update
from apps.platforms.models import PlatformIdentity
from tests.accounts.factories import UserFactory

from .conftest import consumer_can_select

pytestmark = [pytest.mark.django_db, pytest.mark.platform]


def active_access(personas, requester, django_capture_on_commit_callbacks, **kwargs) -> AccessRequest:
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=requester, output_port=personas.port, purpose="Report", **kwargs
        )
    request.refresh_from_db()
    assert request.status == "active"
    return request


def test_public_to_restricted_revokes_and_sends_for_reapproval(
    personas, aw_warehouse, pg_admin_conninfo, django_capture_on_commit_callbacks
):
    # given: a Public product with two active grants: one the Restricted policy could allow
    # (regulatory purpose, 30 days), one it refuses as it stands (analytics, permanent)
    import psycopg
    from psycopg import sql

    from apps.catalog.models import DataProduct

    DataProduct.objects.filter(pk=personas.product.pk).update(classification="public")
    personas.product.refresh_from_db()
    other = UserFactory(username="other")
    other_login = personas.login + "b"
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(other_login), sql.Literal(personas.password)
            )
        )
    PlatformIdentity.objects.create(user=other, platform=personas.port.platform, principal=other_login)
    allowed = active_access(
        personas,
        personas.consumer,
        django_capture_on_commit_callbacks,
        purpose_category=personas.regulatory,
        expires_at=timezone.now() + timedelta(days=30),
    )
    refused = active_access(
        personas, other, django_capture_on_commit_callbacks, purpose_category=Purpose.objects.get(slug="analytics")
    )
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    assert consumer_can_select(aw_warehouse, other_login, personas.password)

    # when: the owner raises the classification
    with django_capture_on_commit_callbacks(execute=True):
        data_product_update(product=personas.product, actor=personas.owner, classification="restricted")

    # then: both Public-era grants are gone from the warehouse
    allowed.refresh_from_db()
    refused.refresh_from_db()
    assert (allowed.status, refused.status) == ("revoked", "revoked")
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    assert not consumer_can_select(aw_warehouse, other_login, personas.password)
    # the one the new policy allows waits for re-approval by its chain; the other does not
    again = AccessRequest.objects.get(requester=personas.consumer, status="pending_approval")
    assert again.policy.classification == "restricted" and again.expires_at == allowed.expires_at
    assert [s.kind for s in again.steps.order_by("order")] == ["owner", "steward"]
    assert not AccessRequest.objects.filter(requester=other, status="pending_approval").exists()
    # and it is all on the audit trail
    assert AuditEvent.objects.filter(
        action="data_product.classification_changed",
        object_id=str(personas.product.pk),
        before={"classification": "public"},
    ).exists()
    outcomes = dict(AuditEvent.objects.filter(action="grant.reevaluated").values_list("object_id", "after__outcome"))
    assert outcomes == {str(allowed.pk): "reapproval", str(refused.pk): "revoked"}
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(other_login)))


def test_a_grant_the_new_policy_approves_at_once_is_kept(personas, aw_warehouse, django_capture_on_commit_callbacks):
    # given: a Public product; the consumer's team owns the product's domain
    from apps.accounts.choices import TeamRole
    from apps.accounts.services import team_membership_set
    from apps.catalog.models import DataProduct

    DataProduct.objects.filter(pk=personas.product.pk).update(classification="public")
    personas.product.refresh_from_db()
    team_membership_set(team=personas.team, user=personas.consumer, role=TeamRole.MEMBER)
    request = active_access(
        personas, personas.consumer, django_capture_on_commit_callbacks, expires_at=timezone.now() + timedelta(days=30)
    )

    # when: Public → Internal (same domain: approved at once)
    with django_capture_on_commit_callbacks(execute=True):
        data_product_update(product=personas.product, actor=personas.owner, classification="internal")

    # then
    request.refresh_from_db()
    assert request.status == "active"
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    assert AuditEvent.objects.get(action="grant.reevaluated").after["outcome"] == "kept"


def test_lowering_the_classification_changes_no_grant(personas, django_capture_on_commit_callbacks):
    # given: an active grant on the Confidential product, approved by its owner
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="Report",
            expires_at=timezone.now() + timedelta(days=30),
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        data_product_update(product=personas.product, actor=personas.owner, classification="public")

    # then: audited, nothing re-evaluated
    request.refresh_from_db()
    assert request.status == "active"
    assert AuditEvent.objects.filter(action="data_product.classification_changed").count() == 1
    assert not AuditEvent.objects.filter(action="grant.reevaluated").exists()
