"""MariaDB grant adapter against the real local MariaDB: quoting with hostile names, the
database-level wildcard trap, idempotency, and the one-default-role rule."""

import pymysql
import pytest
from django.conf import settings

from apps.access.enforcement import GrantSpec, PlatformGrantError, get_grant_adapter
from apps.access.enforcement.mariadb import MariaDBGrantAdapter, quote_db_pattern, quote_identifier

from .conftest import mariadb_admin, mariadb_consumer_can_select


@pytest.mark.parametrize(
    "name,quoted",
    [
        ("plain", "`plain`"),
        ("back`tick", "`back``tick`"),
        ("``", "``````"),
        ("x`; DROP DATABASE mysql; --", "`x``; DROP DATABASE mysql; --`"),
        ('it\'s "quoted"', '`it\'s "quoted"`'),
        ("çalışan", "`çalışan`"),
    ],
)
def test_quote_identifier_wraps_in_backticks_and_doubles_embedded_ones(name, quoted):
    assert quote_identifier(name) == quoted


@pytest.mark.parametrize("name", ["", "nul\x00byte", "emoji😀"])
def test_quote_identifier_refuses_what_no_quoting_can_carry(name):
    with pytest.raises(PlatformGrantError):
        quote_identifier(name)


def test_quote_db_pattern_escapes_the_grant_wildcards():
    assert quote_db_pattern("a_b%c\\d") == "`a\\_b\\%c\\\\d`"


def _spec(login, schema, **kwargs):
    return GrantSpec(role_name=f"{settings.GRANT_ROLE_PREFIX}r_{login[-8:]}", principal=login, schema=schema, **kwargs)


@pytest.fixture
def hostile_db(mariadb_warehouse):
    """A database, table and columns with quotes, backticks, semicolons and unicode in their names."""
    db, table = f'{settings.GRANT_ROLE_PREFIX}we"ird`; DROP', "Mixed `Case`; çalışan"
    mariadb_admin(f"CREATE DATABASE {quote_identifier(db)}")
    mariadb_admin(
        f"CREATE TABLE {quote_identifier(db)}.{quote_identifier(table)} "
        f"({quote_identifier('ïd`; x')} int, {quote_identifier('sécret')} int)"
    )
    yield db, table
    mariadb_admin(f"DROP DATABASE {quote_identifier(db)}")


def test_hostile_database_table_and_column_names_are_quoted(mariadb_platform, mariadb_consumer_login, hostile_db):
    # given
    login, password = mariadb_consumer_login
    db, table = hostile_db
    adapter = get_grant_adapter(mariadb_platform)
    spec = _spec(login, db, columns=("ïd`; x",))
    # when
    adapter.apply(spec)
    # then
    assert mariadb_consumer_can_select(login, password, db, table, "ïd`; x")
    assert not mariadb_consumer_can_select(login, password, db, table, "sécret")
    assert adapter.inspect(spec).in_sync
    # when: the whole database
    whole = _spec(login, db)
    adapter.revoke(spec)
    adapter.apply(whole)
    assert mariadb_consumer_can_select(login, password, db, table, "sécret")
    assert adapter.inspect(whole).in_sync
    adapter.revoke(whole)
    assert not mariadb_consumer_can_select(login, password, db, table, "ïd`; x")


def test_a_hostile_login_name_is_quoted(mariadb_platform, mariadb_warehouse):
    # given: a login whose name breaks naive quoting
    login = f"{settings.GRANT_ROLE_PREFIX}o'brien`; --é"
    mariadb_admin(f"CREATE USER {quote_identifier(login)}@%s IDENTIFIED BY 'pw'", ["%"])
    adapter = get_grant_adapter(mariadb_platform)
    spec = _spec("hostile1", mariadb_warehouse.wh)
    spec = GrantSpec(role_name=spec.role_name, principal=login, schema=spec.schema)
    try:
        # when
        adapter.apply(spec)
        # then
        assert mariadb_consumer_can_select(login, "pw", mariadb_warehouse.wh, "employee")
        assert adapter.inspect(spec).in_sync
    finally:
        adapter.revoke(spec)
        mariadb_admin(f"DROP USER {quote_identifier(login)}@%s", ["%"])


def test_a_database_grant_does_not_leak_through_the_underscore_wildcard(mariadb_platform, mariadb_consumer_login):
    # given: `a_b` and `aXb`; a naive GRANT ... ON `a_b`.* would also match `aXb`
    login, password = mariadb_consumer_login
    prefix = settings.GRANT_ROLE_PREFIX
    exact, lookalike = f"{prefix}a_b", f"{prefix}aXb"
    for db in (exact, lookalike):
        mariadb_admin(f"CREATE DATABASE {quote_identifier(db)}")
        mariadb_admin(f"CREATE TABLE {quote_identifier(db)}.t (id int)")
    try:
        # when
        get_grant_adapter(mariadb_platform).apply(_spec(login, exact))
        # then
        assert mariadb_consumer_can_select(login, password, exact, "t")
        assert not mariadb_consumer_can_select(login, password, lookalike, "t")
    finally:
        for db in (exact, lookalike):
            mariadb_admin(f"DROP DATABASE {quote_identifier(db)}")


def test_apply_twice_and_revoke_twice_are_no_op_successes(mariadb_platform, mariadb_consumer_login, mariadb_warehouse):
    login, password = mariadb_consumer_login
    adapter = get_grant_adapter(mariadb_platform)
    spec = _spec(login, mariadb_warehouse.wh)
    adapter.apply(spec)
    adapter.apply(spec)
    assert mariadb_admin("SELECT count(*) FROM mysql.user WHERE User = %s", [spec.role_name])[0][0] == 1
    assert mariadb_consumer_can_select(login, password, mariadb_warehouse.wh, "employee")
    adapter.revoke(spec)
    adapter.revoke(spec)
    assert not mariadb_consumer_can_select(login, password, mariadb_warehouse.wh, "employee")
    assert not adapter.inspect(spec).role_exists


def test_a_default_role_the_login_had_before_is_kept(mariadb_platform, mariadb_consumer_login, mariadb_warehouse):
    # given: the login's own default role gives it the sales database
    login, password = mariadb_consumer_login
    own = f"{login}_own"
    mariadb_admin(f"CREATE ROLE {quote_identifier(own)}")
    mariadb_admin(f"GRANT SELECT ON {quote_db_pattern(mariadb_warehouse.sales)}.* TO {quote_identifier(own)}")
    mariadb_admin(f"GRANT {quote_identifier(own)} TO {quote_identifier(login)}@%s", ["%"])
    mariadb_admin(f"SET DEFAULT ROLE {quote_identifier(own)} FOR {quote_identifier(login)}@%s", ["%"])
    assert mariadb_consumer_can_select(login, password, mariadb_warehouse.sales, "customer")
    # when
    get_grant_adapter(mariadb_platform).apply(_spec(login, mariadb_warehouse.wh))
    # then: both, in one fresh session, through the umbrella default role
    assert mariadb_consumer_can_select(login, password, mariadb_warehouse.wh, "employee")
    assert mariadb_consumer_can_select(login, password, mariadb_warehouse.sales, "customer")
    default = mariadb_admin("SELECT default_role FROM mysql.user WHERE User = %s AND Host = '%%'", [login])[0][0]
    assert default == MariaDBGrantAdapter.umbrella_role(login, "%")


def test_a_missing_login_or_database_is_a_permanent_error(mariadb_platform, mariadb_consumer_login, mariadb_warehouse):
    adapter = get_grant_adapter(mariadb_platform)
    with pytest.raises(PlatformGrantError, match="does not exist"):
        adapter.apply(_spec("nobody_here", mariadb_warehouse.wh))
    with pytest.raises(PlatformGrantError, match="does not exist"):
        adapter.apply(_spec(mariadb_consumer_login[0], "no_such_db_mpt"))


def test_an_unreachable_server_is_transient(mariadb_platform):
    from apps.access.enforcement import TransientPlatformError

    mariadb_platform.port = 1  # nothing listens there
    with pytest.raises(TransientPlatformError):
        get_grant_adapter(mariadb_platform).apply(_spec("x", "y"))
    assert pymysql  # the driver under test


def test_a_default_role_unset_by_hand_is_seen_and_put_back(mariadb_platform, mariadb_consumer_login, mariadb_warehouse):
    # given: an applied grant, then the login's default role is unset outside the portal
    login, password = mariadb_consumer_login
    adapter = get_grant_adapter(mariadb_platform)
    spec = _spec(login, mariadb_warehouse.wh)
    adapter.apply(spec)
    mariadb_admin(f"SET DEFAULT ROLE NONE FOR {quote_identifier(login)}@%s", ["%"])
    assert not mariadb_consumer_can_select(login, password, mariadb_warehouse.wh, "employee")
    # when
    found = adapter.inspect(spec)
    # then: the route is missing (the role itself is intact), and applying again restores it
    assert [p.privilege for p in found.missing] == ["DEFAULT ROLE"] and not found.extra
    adapter.apply(spec)
    assert adapter.inspect(spec).in_sync
    assert mariadb_consumer_can_select(login, password, mariadb_warehouse.wh, "employee")
