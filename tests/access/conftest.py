"""Personas and a product on the real warehouses (PostgreSQL AdventureWorks, a small MariaDB
database), for access and grant tests; ``stack`` gives the grant proof tests one interface over
both platforms; a headless Debian Chromium for the browser tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlparse

import psycopg
import pymysql
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from psycopg import sql

from apps.access.enforcement.mariadb import grant_lock_name, quote_db_pattern, quote_identifier
from apps.access.models import Purpose
from apps.access.services import access_policy_ensure_defaults
from apps.accounts.choices import STEWARDS_GROUP, TeamRole
from apps.accounts.services import team_membership_set
from apps.platforms.models import Platform, PlatformIdentity
from tests.accounts.factories import TeamFactory, UserFactory
from tests.catalog.factories import DataProductFactory, OutputPortFactory


@pytest.fixture
def aw_platform(db, aw_warehouse):
    return Platform.objects.create(
        slug="aw",
        name="AdventureWorks",
        kind="postgresql",
        host=aw_warehouse["host"],
        port=aw_warehouse["port"],
        database=aw_warehouse["dbname"],
        username=aw_warehouse["user"],
    )


def make_personas(*, platform, schema: str, login: str, password: str) -> SimpleNamespace:
    """owner (owner team), approver, consumer (with ``login`` on ``platform``), unrelated, steward;
    a Confidential product with a port on ``schema``; the default access policies and purposes
    (``analytics``, ``regulatory``)."""
    access_policy_ensure_defaults()
    owner, approver, consumer, unrelated, steward = (
        UserFactory(username=n) for n in ("owner", "approver", "consumer", "unrelated", "steward")
    )
    team = TeamFactory(name="HR Data", slug="hr-data")
    team_membership_set(team=team, user=owner, role=TeamRole.OWNER)
    team_membership_set(team=team, user=approver, role=TeamRole.APPROVER)
    stewards, _ = Group.objects.get_or_create(name=STEWARDS_GROUP)
    stewards.permissions.add(*Permission.objects.filter(codename__in=["view_accessrequest", "view_dataproduct"]))
    steward.groups.add(stewards)
    product = DataProductFactory(name="Employees", slug="employees", owner_team=team, terms_of_use="Be nice.")
    port = OutputPortFactory(data_product=product, name="hr schema", platform=platform, schema=schema)
    PlatformIdentity.objects.create(user=consumer, platform=platform, principal=login)
    return SimpleNamespace(
        owner=owner,
        approver=approver,
        consumer=consumer,
        unrelated=unrelated,
        steward=steward,
        team=team,
        product=product,
        port=port,
        login=login,
        password=password,
        analytics=Purpose.objects.get(slug="analytics"),
        regulatory=Purpose.objects.get(slug="regulatory-reporting"),
    )


@pytest.fixture
def personas(db, aw_platform, pg_consumer_login):
    login, password = pg_consumer_login
    return make_personas(platform=aw_platform, schema="humanresources", login=login, password=password)


def consumer_can_select(
    aw_warehouse, login: str, password: str, table: str = "humanresources.employee", column: str | None = None
) -> bool:
    """Connect to the warehouse *as the consumer* and run the SELECT (of ``column``, else ``count(*)``)."""
    with psycopg.connect(
        host=aw_warehouse["host"],
        port=aw_warehouse["port"],
        dbname=aw_warehouse["dbname"],
        user=login,
        password=password,
        connect_timeout=5,
    ) as conn:
        what = sql.Identifier(column) if column else sql.SQL("count(*)")
        try:
            conn.execute(sql.SQL("SELECT {} FROM {}").format(what, sql.Identifier(*table.split(".")))).fetchall()
            return True
        except psycopg.errors.InsufficientPrivilege:
            return False


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


# --- MariaDB ----------------------------------------------------------------------------------


def _mariadb_params() -> dict:
    url = urlparse(settings.TEST_WAREHOUSE_MARIADB_URL)
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or 3306,
        "user": url.username or "root",
        "password": url.password or "",
    }


def mariadb_admin(statement: str, params=None) -> list:
    """Run one statement as the MariaDB superuser; the rows."""
    conn = pymysql.connect(**_mariadb_params(), charset="utf8mb4", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())
    finally:
        conn.close()


def mariadb_consumer_can_select(
    login: str, password: str, database: str, table: str, column: str | None = None
) -> bool:
    """Connect to MariaDB *as the consumer* (a fresh session: its default role applies) and SELECT."""
    params = {**_mariadb_params(), "user": login, "password": password}
    conn = pymysql.connect(**params, charset="utf8mb4", autocommit=True)
    try:
        with conn.cursor() as cur:
            what = quote_identifier(column) if column else "count(*)"
            try:
                cur.execute(f"SELECT {what} FROM {quote_identifier(database)}.{quote_identifier(table)}")
                cur.fetchall()
                return True
            except (pymysql.err.OperationalError, pymysql.err.ProgrammingError) as exc:
                if exc.args[0] in (1142, 1143, 1044):  # table / column / database access denied
                    return False
                raise
    finally:
        conn.close()


@pytest.fixture(scope="session")
def mariadb_warehouse():
    """Two databases on the local MariaDB: ``<prefix>wh`` (``employee(id, name, salary)``,
    ``payhistory(id, employee_id, rate)``) and ``<prefix>sales`` (``customer(id, name)``).
    Dropped at the end with every user and role of this test process's prefix."""
    prefix = settings.GRANT_ROLE_PREFIX
    wh, sales = f"{prefix}wh", f"{prefix}sales"
    for statement in (
        f"CREATE DATABASE {quote_identifier(wh)}",
        f"CREATE DATABASE {quote_identifier(sales)}",
        f"CREATE TABLE {quote_identifier(wh)}.employee (id int primary key, name varchar(50), salary int)",
        f"CREATE TABLE {quote_identifier(wh)}.payhistory (id int primary key, employee_id int, rate int)",
        f"CREATE TABLE {quote_identifier(sales)}.customer (id int primary key, name varchar(50))",
        f"INSERT INTO {quote_identifier(wh)}.employee VALUES (1, 'Ana', 5000)",
    ):
        mariadb_admin(statement)
    yield SimpleNamespace(wh=wh, sales=sales)
    for (name,) in mariadb_admin("SHOW DATABASES"):
        if name.startswith(prefix):
            mariadb_admin(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
    for user, host in mariadb_admin("SELECT User, Host FROM mysql.user"):
        if user.startswith(prefix):
            target = quote_identifier(user) if host == "" else f"{quote_identifier(user)}@{quote_identifier(host)}"
            mariadb_admin(f"DROP {'ROLE' if host == '' else 'USER'} IF EXISTS {target}")


@pytest.fixture
def mariadb_consumer_login(mariadb_warehouse):
    """A throwaway MariaDB login ``<prefix>login_<hex>``@``%``: ``(name, password)``. Dropped after."""
    name = f"{settings.GRANT_ROLE_PREFIX}login_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(12)
    mariadb_admin(f"CREATE USER {quote_identifier(name)}@%s IDENTIFIED BY %s", ["%", password])
    yield name, password
    mariadb_admin(f"DROP USER IF EXISTS {quote_identifier(name)}@'%'")


@pytest.fixture
def mariadb_platform(db, mariadb_warehouse):
    p = _mariadb_params()
    return Platform.objects.create(
        slug="maria", name="MariaDB warehouse", kind="mariadb", host=p["host"], port=p["port"], username=p["user"]
    )


# --- one interface over both platforms, for the proof tests -------------------------------------


@dataclass
class Stack:
    """A platform with a product, a consumer and the SQL a platform admin would type by hand."""

    kind: str
    personas: SimpleNamespace
    table: str  # a table of the port
    other: tuple[str, str]  # (schema, table) outside the port
    scope: list[str]  # a column scope ...
    allowed_column: str  # ... a column in it ...
    denied_column: str  # ... and one outside it
    warehouse: object

    def can_select(self, table: str | None = None, column: str | None = None, schema: str | None = None) -> bool:
        p = self.personas
        schema, table = schema or p.port.schema, table or self.table
        if self.kind == "postgresql":
            return consumer_can_select(self.warehouse, p.login, p.password, f"{schema}.{table}", column)
        return mariadb_consumer_can_select(p.login, p.password, schema, table, column)

    def admin(self, statement: str) -> None:
        if self.kind == "postgresql":
            with psycopg.connect(self.warehouse["conninfo"], autocommit=True) as conn:
                conn.execute(statement)
        else:
            mariadb_admin(statement)

    def q(self, *names: str) -> str:
        """Names quoted for this platform's hand-typed SQL."""
        if self.kind == "postgresql":
            return sql.Identifier(*names).as_string(None)
        return ".".join(quote_identifier(n) for n in names)

    def revoke_by_hand(self, role: str) -> str:
        return (
            f"REVOKE SELECT ON {self.q(self.personas.port.schema, self.table)} FROM {self.q(role)}"
            if self.kind == "postgresql"
            else f"REVOKE SELECT ON {quote_db_pattern(self.personas.port.schema)}.* FROM {self.q(role)}"
        )

    def add_by_hand(self, role: str) -> list[str]:
        schema, table = self.other
        statements = [f"GRANT SELECT ON {self.q(schema, table)} TO {self.q(role)}"]
        if self.kind == "postgresql":
            statements.insert(0, f"GRANT USAGE ON SCHEMA {self.q(schema)} TO {self.q(role)}")
        return statements

    def role_count(self, role: str) -> int:
        if self.kind == "postgresql":
            with psycopg.connect(self.warehouse["conninfo"]) as conn:
                return conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role]).fetchone()[0]
        return mariadb_admin("SELECT count(*) FROM mysql.user WHERE User = %s AND is_role = 'Y'", [role])[0][0]

    @contextlib.contextmanager
    def grant_lock_held(self):
        """Hold the platform-side lock the adapter takes for the port's schema (apply blocks)."""
        schema = self.personas.port.schema
        if self.kind == "postgresql":
            with psycopg.connect(self.warehouse["conninfo"], autocommit=True) as conn:
                conn.execute("SELECT pg_advisory_lock(hashtext('mesh_portal.grants'), hashtext(%s))", [schema])
                yield
                conn.execute("SELECT pg_advisory_unlock(hashtext('mesh_portal.grants'), hashtext(%s))", [schema])
        else:
            conn = pymysql.connect(**_mariadb_params(), autocommit=True)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT GET_LOCK(%s, 5)", [grant_lock_name(schema)])
                    yield
                    cur.execute("SELECT RELEASE_LOCK(%s)", [grant_lock_name(schema)])
            finally:
                conn.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def stack(request, db) -> Stack:
    if request.param == "postgresql":
        warehouse = request.getfixturevalue("aw_warehouse")
        login, password = request.getfixturevalue("pg_consumer_login")
        personas = make_personas(
            platform=request.getfixturevalue("aw_platform"), schema="humanresources", login=login, password=password
        )
        return Stack(
            "postgresql",
            personas,
            table="employee",
            other=("sales", "customer"),
            scope=["businessentityid", "jobtitle"],
            allowed_column="jobtitle",
            denied_column="birthdate",
            warehouse=warehouse,
        )
    warehouse = request.getfixturevalue("mariadb_warehouse")
    login, password = request.getfixturevalue("mariadb_consumer_login")
    personas = make_personas(
        platform=request.getfixturevalue("mariadb_platform"), schema=warehouse.wh, login=login, password=password
    )
    return Stack(
        "mariadb",
        personas,
        table="employee",
        other=(warehouse.sales, "customer"),
        scope=["id", "name"],
        allowed_column="name",
        denied_column="salary",
        warehouse=warehouse,
    )


# --- a real Celery worker process ---------------------------------------------------------------


def start_celery_worker(*extra_args: str) -> subprocess.Popen:
    """A ``celery worker`` subprocess on the test settings, the test database and our Redis db
    (``--pool solo``: the process that runs the task is the one a test may kill)."""
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mesh_portal.settings.test",
        "TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "GRANT_ROLE_PREFIX": settings.GRANT_ROLE_PREFIX,
        "CELERY_TASK_ALWAYS_EAGER": "false",  # what the worker publishes goes through the broker
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mesh_portal",
            "worker",
            "--pool",
            "solo",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *extra_args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def celery_workers(transactional_db):
    """Start real workers with ``celery_workers()``; tasks are published to Redis (not eager)
    meanwhile, and every worker still running is stopped after the test."""
    import redis

    from mesh_portal.celery import app

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # our own test broker database only
    started = []

    def start():
        worker = start_celery_worker()
        started.append(worker)
        return worker

    app.conf.task_always_eager = False
    try:
        yield start
    finally:
        app.conf.task_always_eager = True
        for worker in started:
            if worker.poll() is None:
                worker.terminate()
            output = worker.communicate(timeout=20)[0].decode(errors="replace")
            if worker.returncode not in (0, -15, -9):
                print(output[-3000:])
