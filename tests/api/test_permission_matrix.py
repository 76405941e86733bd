"""Every endpoint × persona (anonymous, unrelated, consumer, owner, steward, admin).

Objects a persona may not see answer 404 like missing ones; objects they see but may not change
answer 403; anonymous callers always get 401. The rules are the UI's (same selectors/services).
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import PERSONAS, api_client

pytestmark = pytest.mark.django_db

A, U, C, O, S, AD = PERSONAS


def row(anonymous, unrelated, consumer, owner, steward, admin):
    return dict(zip(PERSONAS, (anonymous, unrelated, consumer, owner, steward, admin), strict=True))


EVERYONE = row(401, 200, 200, 200, 200, 200)
CONTRACT = ("apiVersion: v3.0.2\nkind: DataContract\nid: c-1\nversion: 1.0.0\nstatus: draft\n"
            "name: headcount\ndataProduct: Headcount\n")

# name -> (method, path builder, body, expected per persona)
MATRIX = {
    "domains": ("get", lambda w: "/api/v1/domains/", None, EVERYONE),
    "domain": ("get", lambda w: f"/api/v1/domains/{w.domain.slug}/", None, EVERYONE),
    "teams": ("get", lambda w: "/api/v1/teams/", None, EVERYONE),
    "team": ("get", lambda w: f"/api/v1/teams/{w.team.slug}/", None, EVERYONE),
    "team_add_member": ("post", lambda w: f"/api/v1/teams/{w.team.slug}/members/", {"username": "unrelated"},
                        row(401, 403, 403, 200, 403, 200)),
    "team_remove_member": ("delete", lambda w: f"/api/v1/teams/{w.team.slug}/members/approver/", None,
                           row(401, 403, 403, 204, 403, 204)),
    "products": ("get", lambda w: "/api/v1/data-products/", None, EVERYONE),
    "product": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/", None, EVERYONE),
    "draft_product": ("get", lambda w: f"/api/v1/data-products/{w.draft.slug}/", None, row(401, 404, 404, 200, 200, 200)),
    "missing_product": ("get", lambda w: "/api/v1/data-products/nope/", None, row(401, 404, 404, 404, 404, 404)),
    "product_create": ("post", lambda w: "/api/v1/data-products/",
                       {"slug": "new-one", "name": "New", "domain": "human-resources", "owner_team": "hr-data"},
                       row(401, 403, 403, 201, 403, 201)),
    "product_update": ("patch", lambda w: f"/api/v1/data-products/{w.product.slug}/", {"summary": "Changed"},
                       row(401, 403, 403, 200, 403, 200)),
    "draft_update": ("patch", lambda w: f"/api/v1/data-products/{w.draft.slug}/", {"summary": "Changed"},
                     row(401, 404, 404, 200, 403, 200)),
    "draft_publish": ("post", lambda w: f"/api/v1/data-products/{w.draft.slug}/publish/", None,
                      row(401, 404, 404, 200, 403, 200)),
    "product_deprecate": ("post", lambda w: f"/api/v1/data-products/{w.product.slug}/deprecate/", None,
                          row(401, 403, 403, 200, 403, 200)),
    "product_ports": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/output-ports/", None, EVERYONE),
    "product_port_add": ("post", lambda w: f"/api/v1/data-products/{w.product.slug}/output-ports/",
                         {"name": "sales", "platform": "warehouse", "schema": "sales"}, row(401, 403, 403, 201, 403, 201)),
    "product_contracts": ("get", lambda w: f"/api/v1/data-products/{w.product.slug}/data-contracts/", None, EVERYONE),
    "publish_contract": ("post", lambda w: "/api/v1/data-products/publish-contract/",
                         {"contract": CONTRACT, "domain": "human-resources", "owner_team": "hr-data"},
                         row(401, 403, 403, 201, 403, 201)),
    "port": ("get", lambda w: f"/api/v1/output-ports/{w.port.pk}/", None, EVERYONE),
    "draft_port": ("get", lambda w: f"/api/v1/output-ports/{w.draft_port.pk}/", None, row(401, 404, 404, 200, 200, 200)),
    "port_assets": ("get", lambda w: f"/api/v1/output-ports/{w.port.pk}/assets/", None, EVERYONE),
    "assets": ("get", lambda w: "/api/v1/assets/", None, EVERYONE),
    "asset": ("get", lambda w: f"/api/v1/assets/{w.asset.pk}/", None, EVERYONE),
    "asset_columns": ("get", lambda w: f"/api/v1/assets/{w.asset.pk}/columns/", None, EVERYONE),
    "hidden_asset": ("get", lambda w: f"/api/v1/assets/{w.hidden_asset.pk}/", None, row(401, 404, 404, 200, 200, 200)),
    "contracts": ("get", lambda w: "/api/v1/data-contracts/", None, EVERYONE),
    "search": ("get", lambda w: "/api/v1/search/?q=employees", None, EVERYONE),
    "requests": ("get", lambda w: "/api/v1/access-requests/", None, EVERYONE),
    "inbox": ("get", lambda w: "/api/v1/access-requests/?scope=inbox", None, EVERYONE),
    "request": ("get", lambda w: f"/api/v1/access-requests/{w.request.pk}/", None, row(401, 404, 200, 200, 200, 200)),
    "request_create": ("post", lambda w: "/api/v1/access-requests/", lambda w: {"output_port": w.port.pk, "purpose": "Reports",
                                 "expires_at": (timezone.now() + timedelta(days=30)).isoformat()},
                       row(401, 201, 400, 201, 201, 201)),
    "draft_request_create": ("post", lambda w: "/api/v1/access-requests/",
                             lambda w: {"output_port": w.draft_port.pk, "purpose": "Reports"}, row(401, 400, 400, 400, 400, 400)),
    "request_approve": ("post", lambda w: f"/api/v1/access-requests/{w.request.pk}/approve/", {"comment": "ok"},
                        row(401, 404, 400, 200, 400, 200)),
    "request_reject": ("post", lambda w: f"/api/v1/access-requests/{w.request.pk}/reject/", {"reason": "no"},
                       row(401, 404, 400, 200, 400, 200)),
    "request_cancel": ("post", lambda w: f"/api/v1/access-requests/{w.request.pk}/cancel/", None,
                       row(401, 404, 200, 400, 400, 400)),
    "grants": ("get", lambda w: "/api/v1/grants/", None, EVERYONE),
    "grant": ("get", lambda w: f"/api/v1/grants/{w.grant.pk}/", None, row(401, 404, 200, 200, 200, 200)),
    "grant_revoke": ("post", lambda w: f"/api/v1/grants/{w.grant.pk}/revoke/", {"reason": "done"},
                     row(401, 404, 202, 202, 403, 202)),
    "grant_retry": ("post", lambda w: f"/api/v1/grants/{w.grant.pk}/retry/", None, row(401, 404, 403, 403, 403, 400)),
    "audit": ("get", lambda w: "/api/v1/audit-events/", None, row(401, 403, 403, 403, 200, 200)),
    "kpis": ("get", lambda w: "/api/v1/kpis/", None, row(401, 403, 403, 403, 200, 200)),
    "platforms": ("get", lambda w: "/api/v1/platforms/", None, EVERYONE),
    "platform": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/", None, row(401, 404, 404, 404, 404, 200)),
    "platform_schedule": ("patch", lambda w: f"/api/v1/platforms/{w.platform.slug}/", {"sync_interval_minutes": 30},
                          row(401, 404, 404, 404, 404, 200)),
    "sync_runs": ("get", lambda w: f"/api/v1/platforms/{w.platform.slug}/sync-runs/", None, row(401, 404, 404, 404, 404, 200)),
    "sync_now": ("post", lambda w: f"/api/v1/platforms/{w.platform.slug}/sync-runs/", None, row(401, 404, 404, 404, 404, 202)),
    "me": ("get", lambda w: "/api/v1/me/", None, EVERYONE),
    "token_create": ("post", lambda w: "/api/v1/me/token/", None, row(401, 201, 201, 201, 201, 201)),
    "identities": ("get", lambda w: "/api/v1/me/platform-identities/", None, EVERYONE),
    "identity_create": ("post", lambda w: "/api/v1/me/platform-identities/",
                        {"platform": "warehouse", "principal": "my_login"}, row(401, 201, 201, 201, 201, 201)),
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
