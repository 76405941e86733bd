"""Every endpoint × persona (anonymous, unrelated, consumer, owner, steward, admin).

Objects a persona may not see answer 404 like missing ones; objects they see but may not change
answer 403; anonymous callers always get 401. The rules are the UI's (same selectors/services).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.accounts.factories import TeamFactory
from tests.api.conftest import PERSONAS, api_client

pytestmark = pytest.mark.django_db

A, U, C, O, S, AD = PERSONAS  # noqa: E741  (the matrix's column letters)


def row(anonymous, unrelated, consumer, owner, steward, admin):
    return dict(zip(PERSONAS, (anonymous, unrelated, consumer, owner, steward, admin), strict=True))


EVERYONE = row(401, 200, 200, 200, 200, 200)
STEWARDS = row(401, 403, 403, 403, 200, 200)
OPERATORS = row(401, 404, 404, 404, 404, 200)  # the platform has no owner team: admins operate it


def later(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


CONTRACT = (
    "apiVersion: v3.0.2\nkind: DataContract\nid: c-1\nversion: 1.0.0\nstatus: draft\n"
    "name: headcount\ndataProduct: Headcount\n"
)

# name -> (method, path builder, body, expected per persona)
MATRIX = {
    "domains": ("get", lambda w: "/api/v1/domains/", None, EVERYONE),
    "domain": ("get", lambda w: f"/api/v1/domains/{w.domain.slug}/", None, EVERYONE),
    "teams": ("get", lambda w: "/api/v1/teams/", None, EVERYONE),
    "team": ("get", lambda w: f"/api/v1/teams/{w.team.slug}/", None, EVERYONE),
    "team_add_member": (
        "post",
        lambda w: f"/api/v1/teams/{w.team.slug}/members/",
        {"username": "unrelated"},
        row(401, 403, 403, 200, 403, 200),
    ),
    "team_remove_member": (
        "delete",
        lambda w: f"/api/v1/teams/{w.team.slug}/members/approver/",
        None,
        row(401, 403, 403, 204, 403, 204),
    ),
    "products": ("get", lambda w: "/api/v1/data-products/", None, EVERYONE),
    "product": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/", None, EVERYONE),
    "draft_product": (
        "get",
        lambda w: f"/api/v1/data-products/{w.draft.slug}/",
        None,
        row(401, 404, 404, 200, 200, 200),
    ),
    "missing_product": ("get", lambda w: "/api/v1/data-products/nope/", None, row(401, 404, 404, 404, 404, 404)),
    "product_create": (
        "post",
        lambda w: "/api/v1/data-products/",
        {"slug": "new-one", "name": "New", "domain": "human-resources", "owner_team": "hr-data"},
        row(401, 403, 403, 201, 403, 201),
    ),
    "product_update": (
        "patch",
        lambda w: f"/api/v1/data-products/{w.product.slug}/",
        {"summary": "Changed"},
        row(401, 403, 403, 200, 403, 200),
    ),
    "draft_update": (
        "patch",
        lambda w: f"/api/v1/data-products/{w.draft.slug}/",
        {"summary": "Changed"},
        row(401, 404, 404, 200, 403, 200),
    ),
    "draft_publish": (
        "post",
        lambda w: f"/api/v1/data-products/{w.draft.slug}/publish/",
        None,
        row(401, 404, 404, 200, 403, 200),
    ),
    "product_deprecate": (
        "post",
        lambda w: f"/api/v1/data-products/{w.product.slug}/deprecate/",
        None,
        row(401, 403, 403, 200, 403, 200),
    ),
    "product_ports": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/output-ports/", None, EVERYONE),
    "product_port_add": (
        "post",
        lambda w: f"/api/v1/data-products/{w.product.slug}/output-ports/",
        {"name": "sales", "platform": "warehouse", "schema": "sales"},
        row(401, 403, 403, 201, 403, 201),
    ),
    "product_contracts": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/data-contracts/", None, EVERYONE),
    "publish_contract": (
        "post",
        lambda w: "/api/v1/data-products/publish-contract/",
        {"contract": CONTRACT, "domain": "human-resources", "owner_team": "hr-data"},
        row(401, 403, 403, 201, 403, 201),
    ),
    "port": ("get", lambda w: f"/api/v1/output-ports/{w.port.pk}/", None, EVERYONE),
    "draft_port": (
        "get",
        lambda w: f"/api/v1/output-ports/{w.draft_port.pk}/",
        None,
        row(401, 404, 404, 200, 200, 200),
    ),
    "port_assets": ("get", lambda w: f"/api/v1/output-ports/{w.port.pk}/assets/", None, EVERYONE),
    "assets": ("get", lambda w: "/api/v1/assets/", None, EVERYONE),
    "asset": ("get", lambda w: f"/api/v1/assets/{w.asset.pk}/", None, EVERYONE),
    "asset_columns": ("get", lambda w: f"/api/v1/assets/{w.asset.pk}/columns/", None, EVERYONE),
    "hidden_asset": ("get", lambda w: f"/api/v1/assets/{w.hidden_asset.pk}/", None, row(401, 404, 404, 200, 200, 200)),
    "contracts": ("get", lambda w: "/api/v1/data-contracts/", None, EVERYONE),
    "search": ("get", lambda w: "/api/v1/search/?q=employees", None, EVERYONE),
    "search_facets": (
        "get",
        lambda w: "/api/v1/search/?q=jobtitle&domain=human-resources&classification=internal&sort=name&page=1",
        None,
        EVERYONE,
    ),
    "search_bad_sort": ("get", lambda w: "/api/v1/search/?sort=cheapest", None, row(401, 400, 400, 400, 400, 400)),
    "autocomplete": ("get", lambda w: "/api/v1/search/autocomplete/?q=empl", None, EVERYONE),
    "requests": ("get", lambda w: "/api/v1/access-requests/", None, EVERYONE),
    "inbox": ("get", lambda w: "/api/v1/access-requests/?scope=inbox", None, EVERYONE),
    "request": ("get", lambda w: f"/api/v1/access-requests/{w.request.pk}/", None, row(401, 404, 200, 200, 200, 200)),
    "request_create": (
        "post",
        lambda w: "/api/v1/access-requests/",
        lambda w: {
            "output_port": w.port.pk,
            "purpose": "Reports",
            "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
        },
        row(401, 201, 400, 201, 201, 201),
    ),
    "draft_request_create": (
        "post",
        lambda w: "/api/v1/access-requests/",
        lambda w: {"output_port": w.draft_port.pk, "purpose": "Reports"},
        row(401, 400, 400, 400, 400, 400),
    ),
    # No right to decide: 403 (apps.access.permissions.require_decide); a business rule would be 400.
    "request_approve": (
        "post",
        lambda w: f"/api/v1/access-requests/{w.request.pk}/approve/",
        {"comment": "ok"},
        row(401, 404, 403, 200, 403, 200),
    ),
    "request_reject": (
        "post",
        lambda w: f"/api/v1/access-requests/{w.request.pk}/reject/",
        {"reason": "no"},
        row(401, 404, 403, 200, 403, 200),
    ),
    "request_cancel": (
        "post",
        lambda w: f"/api/v1/access-requests/{w.request.pk}/cancel/",
        None,
        row(401, 404, 200, 400, 400, 400),
    ),
    "request_create_scoped": (
        "post",
        lambda w: "/api/v1/access-requests/",
        lambda w: {
            "output_port": w.port.pk,
            "purpose": "Reports",
            "purpose_category": w.purpose.slug,
            "expires_at": later(30),
            "columns": ["employee.jobtitle"],
        },
        row(401, 201, 400, 201, 201, 201),
    ),
    "request_create_bad_purpose": (
        "post",
        lambda w: "/api/v1/access-requests/",
        lambda w: {"output_port": w.port.pk, "purpose": "Reports", "purpose_category": "no-such-purpose"},
        row(401, 400, 400, 400, 400, 400),
    ),
    "request_extend": (
        "post",
        lambda w: f"/api/v1/access-requests/{w.approved.pk}/extend/",
        lambda w: {"expires_at": later(120)},
        row(401, 404, 400, 403, 403, 403),
    ),
    "policies": ("get", lambda w: "/api/v1/policies/", None, STEWARDS),
    "policy_current": ("get", lambda w: "/api/v1/policies/internal/", None, STEWARDS),
    "policy_create": (
        "post",
        lambda w: "/api/v1/policies/",
        {
            "classification": "internal",
            "auto_approve": "never",
            "approval_steps": ["owner", "steward"],
            "max_duration_days": 180,
            "change_note": "Steward sign-off",
        },
        row(401, 403, 403, 403, 201, 201),
    ),
    "purposes": ("get", lambda w: "/api/v1/purposes/", None, EVERYONE),
    "purposes_for": ("get", lambda w: "/api/v1/purposes/?classification=confidential", None, EVERYONE),
    "purpose_create": (
        "post",
        lambda w: "/api/v1/purposes/",
        {"name": "Fraud analytics"},
        row(401, 403, 403, 403, 201, 201),
    ),
    "purpose_update": ("patch", lambda w: f"/api/v1/purposes/{w.purpose.pk}/", {"description": "Changed"}, STEWARDS),
    "delegations": ("get", lambda w: "/api/v1/delegations/", None, EVERYONE),
    "delegation_create": (
        "post",
        lambda w: "/api/v1/delegations/",
        lambda w: {"delegate": "unrelated", "ends": later(7)},
        row(401, 403, 403, 201, 201, 201),
    ),
    "delegation_end": (
        "post",
        lambda w: f"/api/v1/delegations/{w.delegation.pk}/end/",
        None,
        row(401, 404, 404, 200, 404, 404),
    ),
    "grants": ("get", lambda w: "/api/v1/grants/", None, EVERYONE),
    "grant": ("get", lambda w: f"/api/v1/grants/{w.grant.pk}/", None, row(401, 404, 200, 200, 200, 200)),
    "grant_revoke": (
        "post",
        lambda w: f"/api/v1/grants/{w.grant.pk}/revoke/",
        {"reason": "done"},
        row(401, 404, 202, 202, 403, 202),
    ),
    "grant_retry": ("post", lambda w: f"/api/v1/grants/{w.grant.pk}/retry/", None, row(401, 404, 403, 403, 403, 400)),
    "audit": ("get", lambda w: "/api/v1/audit-events/", None, row(401, 403, 403, 403, 200, 200)),
    "kpis": ("get", lambda w: "/api/v1/kpis/", None, STEWARDS),
    "platforms": ("get", lambda w: "/api/v1/platforms/", None, EVERYONE),
    "platform": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/", None, row(401, 404, 404, 404, 404, 200)),
    "platform_schedule": (
        "patch",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/",
        {"sync_interval_minutes": 30},
        row(401, 404, 404, 404, 404, 200),
    ),
    "sync_runs": (
        "get",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/sync-runs/",
        None,
        row(401, 404, 404, 404, 404, 200),
    ),
    "sync_now": (
        "post",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/sync-runs/",
        None,
        row(401, 404, 404, 404, 404, 202),
    ),
    "me": ("get", lambda w: "/api/v1/me/", None, EVERYONE),
    "token_create": ("post", lambda w: "/api/v1/me/token/", None, row(401, 201, 201, 201, 201, 201)),
    "grant_drifts": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/grant-drifts/", None, OPERATORS),
    "platform_identities": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/identities/", None, OPERATORS),
    "platform_identity_create": (
        "post",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/identities/",
        {"user": "unrelated", "principal": "unrelated_login"},
        row(401, 404, 404, 404, 404, 201),
    ),
    "platform_identity_delete": (
        "delete",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/identities/{w.identity.pk}/",
        None,
        row(401, 404, 404, 404, 404, 204),
    ),
    "team_identities": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/team-identities/", None, OPERATORS),
    "team_identity_create": (
        "post",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/team-identities/",
        lambda w: {"team": TeamFactory(slug="finance").slug, "principal": "finance_readers"},
        row(401, 404, 404, 404, 404, 201),
    ),
    "team_identity_delete": (
        "delete",
        lambda w: f"/api/v1/platforms/{w.platform.slug}/team-identities/{w.team_identity.pk}/",
        None,
        row(401, 404, 404, 404, 404, 204),
    ),
    "identities": ("get", lambda w: "/api/v1/me/platform-identities/", None, EVERYONE),
    "identity": (
        "get",
        lambda w: f"/api/v1/me/platform-identities/{w.identity.pk}/",
        None,
        row(401, 404, 200, 404, 404, 404),
    ),
    # Mapping your own login is not yours to do (you could point grants at someone else's login).
    "identity_self_create": (
        "post",
        lambda w: "/api/v1/me/platform-identities/",
        {"platform": "warehouse", "principal": "my_login"},
        row(401, 405, 405, 405, 405, 405),
    ),
    "identity_self_delete": (
        "delete",
        lambda w: f"/api/v1/me/platform-identities/{w.identity.pk}/",
        None,
        row(401, 405, 405, 405, 405, 405),
    ),
    "notifications": ("get", lambda w: "/api/v1/me/notifications/?unread=true", None, EVERYONE),
    "notification_read": (
        "post",
        lambda w: f"/api/v1/me/notifications/{w.notification.pk}/read/",
        None,
        row(401, 404, 200, 404, 404, 404),
    ),
    "notifications_read_all": ("post", lambda w: "/api/v1/me/notifications/read-all/", None, EVERYONE),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", list(MATRIX))
def test_permission_matrix(world, name, persona, django_capture_on_commit_callbacks):
    method, path_for, body, expected = MATRIX[name]
    client = api_client(getattr(world, persona))
    if callable(body):
        body = body(world)
    # given the world; when the persona calls (side effects captured, not run: no worker here)
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client, method)(path_for(world), body, format="json")
    # then the status is the one the UI's rules give, and errors have the one body
    assert response.status_code == expected[persona], f"{name} as {persona}: {response.content[:300]}"
    if response.status_code >= 400:
        assert set(response.json()) == {"message", "errors"}
