"""The straight path for real: connect to the warehouse *as the consumer* and run the SELECT."""

from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone
from psycopg import sql

from apps.access import services
from apps.access.enforcement import GrantSpec, get_grant_adapter
from apps.access.models import Grant
from apps.platforms.models import PlatformIdentity

from .conftest import consumer_can_select

pytestmark = pytest.mark.django_db


def approve(personas, django_capture_on_commit_callbacks, **submit_kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_submit(
            requester=personas.consumer,
            output_port=personas.port,
            purpose="Headcount report",
            expires_at=timezone.now() + timedelta(days=30),
            **submit_kwargs,
        )
    with django_capture_on_commit_callbacks(execute=True):  # runs grant_apply_task (eager in tests)
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
    request.refresh_from_db()
    return request


def test_select_is_denied_before_approval_and_allowed_after(personas, aw_warehouse, django_capture_on_commit_callbacks):
    # given
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    # when
    request = approve(personas, django_capture_on_commit_callbacks)
    # then
    grant = request.grant
    assert (request.status, grant.status) == ("active", "active")
    assert grant.role_name.startswith("mpt_") and grant.principal == personas.login
    assert consumer_can_select(aw_warehouse, personas.login, personas.password)
    assert consumer_can_select(aw_warehouse, personas.login, personas.password, "humanresources.employeepayhistory")
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password, "sales.customer")
    assert grant.attempts.get().succeeded


def test_revocation_and_expiry_take_access_away(personas, aw_warehouse, django_capture_on_commit_callbacks):
    request = approve(personas, django_capture_on_commit_callbacks)
    # when: the end date passes and the beat sweep runs
    Grant.objects.filter(pk=request.grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.grant_expire_due() == [request.grant.pk]
    services.grant_revoke(grant_id=request.grant.pk, reason="ended", expired=True)
    # then
    request.refresh_from_db()
    assert (request.status, request.grant.status) == ("expired", "revoked")
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)
    inspected = get_grant_adapter(personas.port.platform).inspect(services._spec(request.grant))
    assert inspected.role_exists is False


def test_apply_and_revoke_are_idempotent(personas, aw_warehouse, django_capture_on_commit_callbacks):
    request = approve(personas, django_capture_on_commit_callbacks)
    adapter = get_grant_adapter(personas.port.platform)
    spec = services._spec(request.grant)
    adapter.apply(spec)  # a second apply (e.g. a redelivered task) changes nothing
    with psycopg.connect(aw_warehouse["conninfo"]) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [spec.role_name]).fetchone()[0] == 1
    services.grant_revoke(grant_id=request.grant.pk, reason="owner revoked")
    adapter.revoke(spec)  # revoking a revoked grant is a no-op success
    request.refresh_from_db()
    assert request.status == "revoked"
    assert not consumer_can_select(aw_warehouse, personas.login, personas.password)


def test_a_consumer_without_a_platform_login_waits_with_a_reason(personas, django_capture_on_commit_callbacks):
    PlatformIdentity.objects.filter(user=personas.consumer).delete()
    request = approve(personas, django_capture_on_commit_callbacks)
    grant = request.grant
    assert (request.status, grant.status) == ("provisioning", "pending")
    assert "has no identity" in grant.status_reason


def test_a_missing_schema_fails_the_grant_with_the_reason(personas, django_capture_on_commit_callbacks):
    personas.port.schema = "no_such_schema"
    personas.port.save()
    request = approve(personas, django_capture_on_commit_callbacks)
    assert (request.status, request.grant.status) == ("failed", "failed")
    assert "does not exist" in request.grant.status_reason


@pytest.mark.parametrize(
    "schema,table",
    [
        ('we"ird; DROP TABLE x;--', "Mixed Case"),
        ("bıgınt", "çalışan"),
    ],
)
def test_hostile_identifiers_are_quoted(personas, aw_warehouse, pg_consumer_login, schema, table):
    # given: a schema and table with quotes, semicolons and unicode in their names
    with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(schema, table)))
    login, password = pg_consumer_login
    spec = GrantSpec(role_name=f"{personas.login}_r", principal=login, schema=schema, tables=(table,))
    adapter = get_grant_adapter(personas.port.platform)
    try:
        # when
        adapter.apply(spec)
        # then
        assert consumer_can_select(aw_warehouse, login, password, f"{schema}.{table}")
        assert adapter.inspect(spec).table_privileges() == {table: ["SELECT"]}
        assert adapter.inspect(spec).in_sync
        adapter.revoke(spec)
        assert not consumer_can_select(aw_warehouse, login, password, f"{schema}.{table}")
    finally:
        adapter.revoke(spec)
        with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_hostile_column_and_login_names_in_a_column_scope(personas, aw_warehouse, pg_admin_conninfo):
    # given: a column and a login with quotes, semicolons and unicode in their names
    schema, table, column, other = "mpt_hostile_cols", "t", 'sé"cret; --', "other"
    login = f'{personas.login}"; DROP ROLE postgres; --é'
    with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({} int, {} int)").format(
                sql.Identifier(schema, table), sql.Identifier(column), sql.Identifier(other)
            )
        )
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(login)))
    spec = GrantSpec(role_name=f"{personas.login}_c", principal=login, schema=schema, columns=(column, "absent"))
    adapter = get_grant_adapter(personas.port.platform)
    try:
        # when
        adapter.apply(spec)
        # then
        assert consumer_can_select(aw_warehouse, login, "pw", f"{schema}.{table}", column)
        assert not consumer_can_select(aw_warehouse, login, "pw", f"{schema}.{table}", other)
        assert adapter.inspect(spec).in_sync
    finally:
        adapter.revoke(spec)
        with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_pending_grants_of_one_schema_are_applied_in_one_batch(
    personas, aw_warehouse, pg_consumer_login, django_capture_on_commit_callbacks
):
    # given: three consumers approved; the third one's login does not exist on the platform
    from tests.accounts.factories import UserFactory

    logins = [(personas.consumer, personas.login, personas.password)]
    second = UserFactory()
    PlatformIdentity.objects.create(user=second, platform=personas.port.platform, principal=f"{personas.login}_b")
    with psycopg.connect(aw_warehouse["conninfo"], autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'pw'").format(sql.Identifier(f"{personas.login}_b")))
    logins.append((second, f"{personas.login}_b", "pw"))
    ghost = UserFactory()
    PlatformIdentity.objects.create(user=ghost, platform=personas.port.platform, principal="no_such_login_mpt")
    grants = []
    for user in (personas.consumer, second, ghost):
        request = services.access_request_submit(
            requester=user, output_port=personas.port, purpose="Batch", expires_at=timezone.now() + timedelta(days=90)
        )
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)  # tasks not run
        grants.append(request.grant)
    # when: one apply task runs
    services.grant_apply(grant_id=grants[0].pk)
    # then: it applied the others too, and only the ghost's grant failed, with the reason
    statuses = [Grant.objects.get(pk=g.pk).status for g in grants]
    assert statuses == ["active", "active", "failed"]
    assert "does not exist" in Grant.objects.get(pk=grants[2].pk).status_reason
    for _, login, password in logins:
        assert consumer_can_select(aw_warehouse, login, password)
    # the other grants' own tasks are no-ops now
    assert services.grant_apply(grant_id=grants[1].pk).attempts.count() == 1


def test_an_unreachable_platform_leaves_the_batch_retryable(personas, django_capture_on_commit_callbacks):
    # given: two approved requests (their tasks not run), and the platform is unreachable
    from apps.access.enforcement import TransientPlatformError
    from tests.accounts.factories import UserFactory

    second = UserFactory()
    PlatformIdentity.objects.create(user=second, platform=personas.port.platform, principal=f"{personas.login}_z")
    grants = []
    for user in (personas.consumer, second):
        request = services.access_request_submit(
            requester=user, output_port=personas.port, purpose="Batch", expires_at=timezone.now() + timedelta(days=90)
        )
        services.access_request_approve(access_request_id=request.pk, actor=personas.owner)
        grants.append(request.grant)
    personas.port.platform.port = 1  # nothing listens there: connection refused
    personas.port.platform.save()
    # when
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TransientPlatformError):
        services.grant_apply(grant_id=grants[0].pk)
    # then: the task's own grant stays applying (its task retries); the other is pending again
    # with the reason and its own apply task enqueued
    first, other = (Grant.objects.get(pk=g.pk) for g in grants)
    assert first.status == "applying"
    assert other.status == "pending" and other.status_reason.startswith("Retrying: Cannot connect")
    assert len(callbacks) == 1
    assert first.attempts.get().succeeded is False


def test_a_column_scoped_request_grants_only_those_columns(personas, aw_warehouse, django_capture_on_commit_callbacks):
    """The request stores its scope as ``table.column`` (the request form and the API); the
    adapter must grant exactly those columns (regression: it compared bare names and failed)."""
    from apps.catalog.models import Asset, Column

    # given: the port's table and columns are in the catalog (as after a sync)
    asset = Asset.objects.create(platform=personas.port.platform, schema="humanresources", name="employee")
    for ordinal, name in enumerate(["jobtitle", "nationalidnumber"], start=1):
        Column.objects.create(asset=asset, name=name, ordinal=ordinal, data_type="text")
    # when
    request = approve(personas, django_capture_on_commit_callbacks, columns=["employee.jobtitle"])
    # then: active; the consumer reads the scoped column and nothing else
    assert (request.status, request.grant.status) == ("active", "active"), request.grant.status_reason
    assert consumer_can_select(aw_warehouse, personas.login, personas.password, "humanresources.employee", "jobtitle")
    assert not consumer_can_select(
        aw_warehouse, personas.login, personas.password, "humanresources.employee", "nationalidnumber"
    )
