"""Quality rules run on jaffle_shop's raw seeds loaded into PostgreSQL AND MariaDB, with known
results; hostile SQL cannot write and times out cleanly."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from apps.contracts.models import Incident, QualityResult
from apps.contracts.quality import contract_quality_evaluate
from apps.contracts.services import contract_quality_run, incident_transition
from apps.core.exceptions import ApplicationError
from tests.sync.conftest import mariadb_ident

SEEDS = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "jaffle_shop" / "seeds"
TABLES = {
    "raw_customers": ("id integer", "first_name varchar(50)", "last_name varchar(50)"),
    "raw_orders": ("id integer", "user_id integer", "order_date date", "status varchar(20)"),
    "raw_payments": ("id integer", "order_id integer", "payment_method varchar(20)", "amount integer"),
}


def rows(table):
    with (SEEDS / f"{table}.csv").open() as f:
        return list(csv.DictReader(f))


ORDERS, PAYMENTS = rows("raw_orders"), rows("raw_payments")
NOW = dt.datetime(2018, 4, 15, tzinfo=dt.UTC)

CONTRACT = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "jaffle",
    "version": "1.0.0",
    "status": "active",
    "schema": [
        {
            "name": "customers",
            "physicalName": "raw_customers",
            "quality": [
                {"name": "customers count", "metric": "rowCount", "mustBe": 100},
                {"name": "not empty", "metric": "rowCount", "mustNotBe": 0},
                {
                    "name": "no duplicate names",
                    "metric": "duplicateValues",
                    "arguments": {"properties": ["first_name", "last_name"]},
                    "mustBeLessOrEqualTo": 10,
                },
            ],
            "properties": [
                {"name": "id", "quality": [{"name": "unique ids", "metric": "duplicateValues", "mustBe": 0}]},
                {"name": "first_name"},
                {"name": "last_name"},
            ],
        },
        {
            "name": "orders",
            "physicalName": "raw_orders",
            "quality": [
                {"name": "many orders", "metric": "rowCount", "mustBeGreaterThan": 1000},
                {"name": "enough orders", "metric": "rowCount", "mustBeGreaterOrEqualTo": 99},
                {
                    "name": "sql: future orders",
                    "type": "sql",
                    "query": "SELECT COUNT(*) FROM ${object} WHERE order_date > '2018-12-31'",
                    "mustBe": 0,
                },
                {
                    "name": "sql: broken",
                    "type": "sql",
                    "query": "SELECT COUNT(*) FROM ${object} WHERE no_such_column = 1",
                    "mustBe": 0,
                },
                {"name": "described only", "type": "text", "description": "Orders are checked by hand."},
            ],
            "properties": [
                {
                    "name": "status",
                    "quality": [
                        {
                            "name": "known statuses",
                            "metric": "invalidValues",
                            "arguments": {
                                "validValues": ["placed", "shipped", "completed", "return_pending", "returned"]
                            },
                            "mustBe": 0,
                        },
                        {
                            "name": "only completed",
                            "metric": "invalidValues",
                            "arguments": {"validValues": ["completed"]},
                            "mustBeLessThan": 5,
                        },
                        {
                            "name": "status pattern",
                            "metric": "invalidValues",
                            "arguments": {"pattern": "^[a-z_]+$"},
                            "mustBe": 0,
                        },
                    ],
                },
                {
                    "name": "user_id",
                    "quality": [
                        {"name": "repeat customers", "metric": "duplicateValues", "mustNotBeBetween": [0, 10]},
                        {"name": "no null users", "metric": "nullValues", "unit": "percent", "mustBeLessThan": 1},
                    ],
                },
                {"name": "order_date"},
                {"name": "id"},
                {"name": "ghost", "quality": [{"name": "ghost column", "metric": "nullValues", "mustBe": 0}]},
            ],
        },
        {
            "name": "payments",
            "physicalName": "raw_payments",
            "properties": [
                {
                    "name": "amount",
                    "quality": [
                        {
                            "name": "zero amounts",
                            "metric": "missingValues",
                            "arguments": {"missingValues": [0]},
                            "mustBeBetween": [0, 100],
                        }
                    ],
                },
                {
                    "name": "payment_method",
                    "quality": [{"name": "no null methods", "metric": "nullValues", "mustBe": 0}],
                },
            ],
        },
    ],
    "slaProperties": [
        {"property": "latency", "value": 30, "unit": "d", "element": "orders.order_date"},
        {"property": "freshness", "value": 1, "unit": "d", "element": "orders.order_date"},
        {"property": "freshness", "value": 1, "unit": "d", "element": "customers.first_name"},
    ],
}

DUP_USERS = len(ORDERS) - len({o["user_id"] for o in ORDERS})
NOT_COMPLETED = sum(o["status"] != "completed" for o in ORDERS)
ZERO_AMOUNTS = sum(p["amount"] == "0" for p in PAYMENTS)
NEWEST_AGE_DAYS = (NOW.date() - max(dt.date.fromisoformat(o["order_date"]) for o in ORDERS)).days

EXPECTED = {  # name -> (status, measured)
    "customers count": ("pass", 100),
    "not empty": ("pass", 100),
    "no duplicate names": ("pass", None),
    "unique ids": ("pass", 0),
    "many orders": ("fail", 99),
    "enough orders": ("pass", 99),
    "sql: future orders": ("pass", 0),
    "sql: broken": ("error", None),
    "known statuses": ("pass", 0),
    "only completed": ("fail", NOT_COMPLETED),
    "status pattern": ("pass", 0),
    "repeat customers": ("pass" if DUP_USERS > 10 else "fail", DUP_USERS),
    "no null users": ("pass", 0),
    "ghost column": ("error", None),
    "zero amounts": ("pass", ZERO_AMOUNTS),
    "no null methods": ("pass", 0),
    "SLA latency": ("pass", NEWEST_AGE_DAYS),
}


def check(outcomes):
    by_name = {}
    for o in outcomes:
        by_name.setdefault(o.name, []).append(o)
    assert "described only" not in by_name  # text rules are descriptions
    for name, (status, measured) in EXPECTED.items():
        outcome = by_name[name][0]
        assert outcome.status == status, (name, outcome)
        if measured is not None:
            assert outcome.measured == pytest.approx(measured), name
        if status == "error":
            assert outcome.reason and outcome.measured is None
    freshness = sorted((o.status, o.object_name) for o in by_name["SLA freshness"])
    assert freshness == [("error", "customers"), ("fail", "orders")]


@pytest.fixture
def pg_jaffle(make_scratch_schema):
    ns = make_scratch_schema("mpt_jaffle")
    with psycopg.connect(settings.TEST_WAREHOUSE_PG_URL.rsplit("/", 1)[0] + "/" + ns.platform.database) as conn:
        for table, columns in TABLES.items():
            ident = sql.Identifier(ns.name, table)
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, sql.SQL(", ".join(columns))))
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)").format(ident)) as copy:
                copy.write((SEEDS / f"{table}.csv").read_bytes())
    return ns


@pytest.fixture
def mariadb_jaffle(make_mariadb_database):
    ns = make_mariadb_database("jaffle")
    for table, columns in TABLES.items():
        ns.sql(f"CREATE TABLE {ns.ident}.{mariadb_ident(table)} ({', '.join(columns)})")
        data = rows(table)
        names = list(data[0])
        ns.sql(
            f"INSERT INTO {ns.ident}.{mariadb_ident(table)} ({', '.join(names)}) VALUES "
            + ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(data)),
            [r[n] for r in data for n in names],
        )
    return ns


def test_rules_on_postgresql(pg_jaffle):
    check(contract_quality_evaluate(platform=pg_jaffle.platform, schema=pg_jaffle.name, document=CONTRACT, now=NOW))


def test_rules_on_mariadb(mariadb_jaffle):
    check(
        contract_quality_evaluate(
            platform=mariadb_jaffle.platform, schema=mariadb_jaffle.name, document=CONTRACT, now=NOW
        )
    )


def test_an_unreachable_platform_is_an_error_never_a_pass(pg_jaffle):
    pg_jaffle.platform.port = 1
    outcomes = contract_quality_evaluate(platform=pg_jaffle.platform, schema=pg_jaffle.name, document=CONTRACT, now=NOW)
    assert outcomes and {o.status for o in outcomes} == {"error"}
    assert "Cannot connect" in outcomes[0].reason


def _sql_rule(query):
    return {
        **CONTRACT,
        "slaProperties": [],
        "schema": [
            {
                "name": "orders",
                "physicalName": "raw_orders",
                "quality": [{"name": "hostile", "type": "sql", "query": query, "mustBe": 0}],
            }
        ],
    }


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM ${object}",
        "SELECT 1; DROP TABLE ${object}",
        "SELECT 1); DELETE FROM ${object}; SELECT (1",
        "WITH d AS (DELETE FROM ${object} RETURNING 1) SELECT COUNT(*) FROM d",
        "SELECT COUNT(*) FROM ${object} WHERE (SELECT pg_sleep(5)) IS NOT NULL",
    ],
)
def test_hostile_sql_cannot_write_and_times_out_on_postgresql(pg_jaffle, warehouse_sql, query, pg_admin_conninfo):
    # given a quality role with only SELECT on the schema (the platform's account switches to it)
    role = f"{settings.GRANT_ROLE_PREFIX}quality"
    with psycopg.connect(pg_admin_conninfo, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    warehouse_sql(
        sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}").format(
            s=sql.Identifier(pg_jaffle.name), r=sql.Identifier(role)
        )
    )
    settings.CONTRACT_QUALITY_PG_ROLE = role
    try:
        [outcome] = contract_quality_evaluate(
            platform=pg_jaffle.platform, schema=pg_jaffle.name, document=_sql_rule(query), timeout_seconds=0.5
        )
    finally:
        settings.CONTRACT_QUALITY_PG_ROLE = ""
    # then the rule is an error with a reason, and the table is intact
    assert outcome.status == "error" and outcome.reason
    if "pg_sleep" in query:
        assert outcome.reason.startswith("Timed out after 0.5 s")
    with psycopg.connect(settings.TEST_WAREHOUSE_PG_URL.rsplit("/", 1)[0] + "/" + pg_jaffle.platform.database) as conn:
        count = conn.execute(
            sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(pg_jaffle.name, "raw_orders"))
        ).fetchone()[0]
    assert count == len(ORDERS)


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM ${object}",
        "SELECT 1; DROP TABLE ${object}",
        "SELECT COUNT(*) FROM ${object} WHERE SLEEP(5) = 0",
    ],
)
def test_hostile_sql_cannot_write_and_times_out_on_mariadb(mariadb_jaffle, query):
    [outcome] = contract_quality_evaluate(
        platform=mariadb_jaffle.platform, schema=mariadb_jaffle.name, document=_sql_rule(query), timeout_seconds=0.5
    )
    assert outcome.status == "error" and outcome.reason, outcome
    assert mariadb_jaffle.sql(f"SELECT COUNT(*) FROM {mariadb_jaffle.ident}.raw_orders")[0][0] == len(ORDERS)


def test_a_run_stores_results_opens_incidents_and_owners_move_them(pg_jaffle, hr):
    import yaml

    from apps.contracts.services import data_contract_publish

    # given the HR product's port on the jaffle schema and the contract published
    hr.port.platform = pg_jaffle.platform
    hr.port.schema = pg_jaffle.name
    hr.port.save()
    data_contract_publish(actor=hr.owner, contract=yaml.safe_dump(CONTRACT), data_product="employees")
    # when the rules run twice
    first = contract_quality_run(product_id=hr.product.pk, now=NOW)
    contract_quality_run(product_id=hr.product.pk, now=NOW)
    # then each run stores every result with its measured value, and failures open one incident each
    assert (first.passed, first.failed, first.errors) == (13, 3, 3)
    assert QualityResult.objects.filter(name="many orders", measured_value=99).count() == 2
    incidents = Incident.objects.filter(data_product=hr.product)
    assert incidents.count() == 3 and {i.status for i in incidents} == {"open"}
    from apps.notifications.models import Notification

    assert Notification.objects.filter(recipient=hr.owner, verb="incident_opened").count() == 3
    incident = incidents.get(title="many orders failed")
    incident_transition(incident_id=incident.pk, product=hr.product, actor=hr.owner, to="acknowledged")
    with pytest.raises(ApplicationError):
        incident_transition(incident_id=incident.pk, product=hr.product, actor=hr.owner, to="open")
    incident = incident_transition(
        incident_id=incident.pk, product=hr.product, actor=hr.owner, to="resolved", comment="Fixed"
    )
    assert (incident.acknowledged_by, incident.resolved_by) == (hr.owner, hr.owner)


def test_quality_tab_trust_and_incidents_show_on_the_product_page(pg_jaffle, hr, client):
    import yaml

    from apps.contracts.services import data_contract_publish

    hr.port.platform = pg_jaffle.platform
    hr.port.schema = pg_jaffle.name
    hr.port.save()
    data_contract_publish(actor=hr.owner, contract=yaml.safe_dump(CONTRACT), data_product="employees")
    contract_quality_run(product_id=hr.product.pk, now=NOW)
    contract_quality_run(product_id=hr.product.pk, now=NOW)
    client.force_login(hr.unrelated)  # a consumer's view: incidents and results are visible
    quality = client.get("/products/employees/?tab=quality").content.decode()
    assert "many orders failed" in quality and "must be greater than 1000" in quality and "✗✗" not in quality
    assert quality.count(">✗</span>") >= 6  # two runs of three failing rules: the trend
    overview = client.get("/products/employees/").content.decode()
    assert "13 of 19 rules passed" in overview and "How this is computed" in overview and "SLA breached" in overview
    incident = Incident.objects.filter(data_product=hr.product).first()
    assert client.post(f"/products/employees/incidents/{incident.pk}/", {"to": "acknowledged"}).status_code == 404
    client.force_login(hr.owner)
    client.post(f"/products/employees/incidents/{incident.pk}/", {"to": "acknowledged"})
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == hr.owner
