"""Running a contract's quality rules and freshness SLAs on its platform, read-only.

ODCS v3.1 "Data quality": library metrics ``rowCount``, ``nullValues``, ``missingValues``
(``arguments.missingValues``), ``invalidValues`` (``arguments.validValues`` or
``arguments.pattern``), ``duplicateValues`` (a property, or ``arguments.properties`` of an
object), each compared with ``mustBe``, ``mustNotBe``, ``mustBeGreaterThan``,
``mustBeGreaterOrEqualTo``, ``mustBeLessThan``, ``mustBeLessOrEqualTo``, ``mustBeBetween``,
``mustNotBeBetween`` (``unit: percent`` measures the share of rows); ``type: sql`` rules whose
``query`` returns one number; SLA ``freshness``/``latency`` on ``element`` (``table.column``,
a timestamp): the age of the newest row.

Safety: every query runs in a READ ONLY transaction with a statement timeout (PostgreSQL
``SET TRANSACTION READ ONLY`` + ``statement_timeout``, and ``SET LOCAL ROLE`` to the quality
role when ``CONTRACT_QUALITY_PG_ROLE`` names one — a role with only SELECT; MariaDB
``START TRANSACTION READ ONLY`` + ``max_statement_time``). A contract's SQL is wrapped as a
sub-select (``SELECT * FROM (<query>) q``), so a second statement or a data-modifying
statement is a syntax error, not an action. Identifiers are quoted by the driver's rules.
A rule that cannot run (bad SQL, missing column, timeout, unknown metric) is an ``error``
result with the reason — never a pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from .diff import sla_seconds
from .rules import RuleRef, contract_rules, rule_expectation

LIBRARY_METRICS = ("rowCount", "nullValues", "missingValues", "invalidValues", "duplicateValues")
_COUNT_METRICS_DEFAULT_ZERO = ("nullValues", "missingValues", "invalidValues", "duplicateValues")


@dataclass
class Outcome:
    """One rule's result: ``status`` pass/fail/error, ``measured`` the number compared."""

    key: str
    name: str
    object_name: str
    property_name: str
    metric: str
    expectation: str
    status: str
    measured: float | None = None
    reason: str = ""


class RuleError(Exception):
    """The rule cannot run as written (shown as the error result's reason)."""


def compare(value: float, rule: dict) -> tuple[bool, str]:
    """Apply the rule's operators to ``value``: ``(passed, expectation in words)``. Raises
    ``RuleError`` when the rule has no operator."""
    checks = []
    for op, bound in rule.items():
        if op == "mustBe":
            checks.append(value == bound)
        elif op == "mustNotBe":
            checks.append(value != bound)
        elif op == "mustBeGreaterThan":
            checks.append(value > bound)
        elif op == "mustBeGreaterOrEqualTo":
            checks.append(value >= bound)
        elif op == "mustBeLessThan":
            checks.append(value < bound)
        elif op == "mustBeLessOrEqualTo":
            checks.append(value <= bound)
        elif op == "mustBeBetween":
            checks.append(bound[0] <= value <= bound[1])
        elif op == "mustNotBeBetween":
            checks.append(not bound[0] <= value <= bound[1])
    if not checks:
        raise RuleError("The rule has no operator (mustBe, mustBeGreaterThan, ...).")
    return all(checks), rule_expectation(rule)


class Dialect:
    """SQL differences between PostgreSQL and MariaDB (quoting, regex, read-only session)."""

    def __init__(self, kind: str):
        self.kind = kind

    def ident(self, *parts: str) -> str:
        if self.kind == "mariadb":
            return ".".join("`" + p.replace("`", "``") + "`" for p in parts)
        return ".".join('"' + p.replace('"', '""') + '"' for p in parts)

    def not_matching(self, column: str) -> str:
        return f"CAST({column} AS CHAR) NOT REGEXP %s" if self.kind == "mariadb" else f"{column}::text !~ %s"


def metric_sql(dialect: Dialect, *, schema: str, table: str, rule: dict, column: str | None) -> tuple[str, list, bool]:
    """``(query, params, needs_row_count)`` measuring a library metric; raises ``RuleError``."""
    metric = rule.get("metric") or rule.get("rule")
    args = rule.get("arguments") if isinstance(rule.get("arguments"), dict) else {}
    t = dialect.ident(schema, table)
    c = dialect.ident(column) if column else None
    if metric == "rowCount":
        return f"SELECT COUNT(*) FROM {t}", [], False
    if metric == "duplicateValues":
        columns = [column] if column else [str(p) for p in args.get("properties") or []]
        if not columns:
            raise RuleError("duplicateValues needs a property, or arguments.properties on an object.")
        group = ", ".join(dialect.ident(col) for col in columns)
        return (
            f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {t} GROUP BY {group} "
            f"HAVING COUNT(*) > 1) d",
            [],
            True,
        )
    if c is None:
        raise RuleError(f"{metric} applies to a property.")
    if metric == "nullValues":
        return f"SELECT COUNT(*) FROM {t} WHERE {c} IS NULL", [], True
    if metric == "missingValues":
        missing = [v for v in args.get("missingValues") or [None] if v is not None]
        cond = f"{c} IS NULL" + (
            f" OR CAST({c} AS CHAR(255)) IN ({', '.join(['%s'] * len(missing))})"
            if dialect.kind == "mariadb" and missing
            else f" OR {c}::text IN ({', '.join(['%s'] * len(missing))})"
            if missing
            else ""
        )
        return f"SELECT COUNT(*) FROM {t} WHERE {cond}", [str(v) for v in missing], True
    if metric == "invalidValues":
        if args.get("validValues"):
            values = [str(v) for v in args["validValues"]]
            cast = f"CAST({c} AS CHAR(255))" if dialect.kind == "mariadb" else f"{c}::text"
            return (
                f"SELECT COUNT(*) FROM {t} WHERE {c} IS NOT NULL AND {cast} NOT IN ({', '.join(['%s'] * len(values))})",
                values,
                True,
            )
        if args.get("pattern"):
            return (
                f"SELECT COUNT(*) FROM {t} WHERE {c} IS NOT NULL AND {dialect.not_matching(c)}",
                [str(args["pattern"])],
                True,
            )
        raise RuleError("invalidValues needs arguments.validValues or arguments.pattern.")
    raise RuleError(f"Unknown metric {metric!r}.")


class ReadOnlySession:
    """A read-only connection to a platform for quality checks: every ``scalar`` runs in its own
    READ ONLY transaction with the statement timeout, and is rolled back afterwards."""

    def __init__(self, platform, timeout_seconds: float | None = None):
        self.platform = platform
        self.kind = platform.kind
        self.dialect = Dialect(self.kind)
        self.timeout = timeout_seconds or getattr(settings, "CONTRACT_QUALITY_STATEMENT_TIMEOUT_SECONDS", 30)
        self.conn = None

    def __enter__(self):
        params = self.platform.connection_params()
        if self.kind == "mariadb":
            import pymysql

            self.conn = pymysql.connect(
                host=params.host,
                port=params.port or 3306,
                user=params.username,
                password=params.password,
                database=params.database or None,
                charset="utf8mb4",
                autocommit=False,
                connect_timeout=10,
                read_timeout=int(self.timeout) + 30,
            )
        else:
            import psycopg

            self.conn = psycopg.connect(
                host=params.host,
                port=params.port or 5432,
                dbname=params.database,
                user=params.username,
                password=params.password or None,
                connect_timeout=10,
                application_name="mesh-portal-quality",
            )
        return self

    def __exit__(self, *exc):
        if self.conn is not None:
            self.conn.close()

    def scalar(self, query: str, params: list | None = None) -> float | None:
        """Run ``query`` read-only and return its first column of its first row as a number
        (None when NULL). Raises ``RuleError`` with the database's reason on any failure."""
        try:
            return self._scalar(query, params or [])
        except RuleError:
            raise
        except Exception as exc:  # noqa: BLE001 - any database failure is the rule's error result
            self._rollback()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "statement timeout" in reason or "max_statement_time" in reason or "canceling statement" in reason:
                reason = f"Timed out after {self.timeout:g} s: {reason}"
            raise RuleError(reason[:500]) from None

    def _rollback(self):
        try:
            self.conn.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the next query reports it
            pass

    def _scalar(self, query: str, params: list):
        if self.kind == "mariadb":
            with self.conn.cursor() as cur:
                cur.execute(f"SET SESSION max_statement_time = {float(self.timeout)}")
                cur.execute("START TRANSACTION READ ONLY")
                try:
                    cur.execute(query, params or None)
                    row = cur.fetchone()
                finally:
                    self.conn.rollback()
        else:
            from psycopg import sql

            with self.conn.transaction(force_rollback=True), self.conn.cursor() as cur:
                cur.execute("SET TRANSACTION READ ONLY")
                cur.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(int(self.timeout * 1000))))
                role = getattr(settings, "CONTRACT_QUALITY_PG_ROLE", "")
                if role:
                    cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                cur.execute(query, params or None)
                row = cur.fetchone()
        if row is None or row[0] is None:
            return None
        value = row[0]
        if isinstance(value, dt.datetime | dt.date):
            return value  # freshness reads a timestamp
        try:
            return float(value)
        except (TypeError, ValueError):
            raise RuleError(f"The query returned {value!r}, not a number.") from None


def _table_of(object_name: str, document: dict) -> tuple[str, dict]:
    for obj in document.get("schema") or []:
        if isinstance(obj, dict) and obj.get("name") == object_name:
            return str(obj.get("physicalName") or object_name), obj
    return object_name, {}


def _column_of(obj: dict, property_name: str) -> str:
    for prop in obj.get("properties") or []:
        if isinstance(prop, dict) and prop.get("name") == property_name:
            return str(prop.get("physicalName") or property_name)
    return property_name


def run_rule(session: ReadOnlySession, *, schema: str, document: dict, ref: RuleRef) -> Outcome:
    """Measure one rule and compare; every failure becomes an ``error`` outcome."""
    rule = ref.rule
    metric = str(rule.get("metric") or rule.get("rule") or rule.get("type") or "")
    outcome = Outcome(
        key=ref.key,
        name=ref.label,
        object_name=ref.object_name,
        property_name=ref.property_name,
        metric=metric,
        expectation=ref.expectation,
        status="error",
    )
    try:
        kind = str(rule.get("type") or "library").lower()
        if kind == "sql":
            query = str(rule.get("query") or "").strip().rstrip(";").strip()
            if not query:
                raise RuleError("A sql rule needs a query.")
            table, obj = _table_of(ref.object_name, document)
            query = query.replace("${object}", session.dialect.ident(schema, table)).replace(
                "{object}", session.dialect.ident(schema, table)
            )
            if ref.property_name:
                query = query.replace("${property}", session.dialect.ident(_column_of(obj, ref.property_name))).replace(
                    "{property}", session.dialect.ident(_column_of(obj, ref.property_name))
                )
            value = session.scalar(f"SELECT * FROM ({query}) AS contract_rule")
            outcome.metric = "sql"
        elif kind in ("library", "") and (rule.get("metric") or rule.get("rule")):
            if not ref.object_name:
                raise RuleError("A library metric at contract level names no table.")
            table, obj = _table_of(ref.object_name, document)
            column = _column_of(obj, ref.property_name) if ref.property_name else None
            query, params, needs_rows = metric_sql(
                session.dialect, schema=schema, table=table, rule=rule, column=column
            )
            value = session.scalar(query, params)
            if str(rule.get("unit") or "").lower() == "percent" and needs_rows:
                rows = session.scalar(f"SELECT COUNT(*) FROM {session.dialect.ident(schema, table)}")
                value = (value or 0) * 100.0 / rows if rows else 0.0
        else:
            raise RuleError(f"Rules of type {kind!r} are not run by the portal (only library metrics and sql).")
        if value is None:
            value = 0.0
        operators = dict(rule)
        if metric in _COUNT_METRICS_DEFAULT_ZERO and not any(k.startswith("must") for k in rule):
            operators["mustBe"] = 0  # ODCS: a count metric without operator expects none
        passed, expectation = compare(value, operators)
        outcome.measured, outcome.expectation = float(value), expectation
        outcome.status = "pass" if passed else "fail"
        if not passed:
            outcome.reason = f"Measured {value:g}; {expectation}."
    except RuleError as exc:
        outcome.reason = str(exc)
    return outcome


def sla_key(sla: dict, document: dict) -> str:
    """The result key of a freshness/latency SLA (``sla:latency@table.column``), stable across runs."""
    element = str(sla.get("element") or document.get("slaDefaultElement") or "")
    return f"sla:{sla.get('property') or ''}@{element}"


def measured_slas(document: dict) -> list[dict]:
    """The SLA properties the portal measures: ``freshness`` and ``latency``."""
    return [
        s
        for s in document.get("slaProperties") or []
        if isinstance(s, dict) and str(s.get("property") or "").lower() in ("freshness", "latency")
    ]


def run_freshness(session: ReadOnlySession, *, schema: str, document: dict, sla: dict, now: dt.datetime) -> Outcome:
    """An SLA ``freshness``/``latency`` on ``element`` (``table.column``): the newest value's
    age, in the SLA's unit, must be at most ``value``."""
    element = str(sla.get("element") or document.get("slaDefaultElement") or "")
    prop = str(sla.get("property") or "")
    unit = str(sla.get("unit") or "")
    outcome = Outcome(
        key=sla_key(sla, document),
        name=f"SLA {prop}",
        object_name=element.split(".")[0],
        property_name=element.split(".", 1)[1] if "." in element else "",
        metric=prop.lower(),
        expectation=f"at most {sla.get('value')} {unit} old",
        status="error",
    )
    try:
        if "." not in element:
            raise RuleError("The SLA needs element table.column (a timestamp) to be measured.")
        limit = sla_seconds(sla.get("value"), unit)
        if limit is None:
            raise RuleError(f"Cannot read {sla.get('value')!r} {unit!r} as a duration.")
        object_name, prop_name = element.split(".", 1)
        table, obj = _table_of(object_name, document)
        column = _column_of(obj, prop_name) if obj else prop_name
        newest = session.scalar(
            f"SELECT MAX({session.dialect.ident(column)}) FROM {session.dialect.ident(schema, table)}"
        )
        if newest is None:
            raise RuleError(f"{element} has no rows: freshness cannot be measured.")
        if not isinstance(newest, dt.datetime | dt.date):
            raise RuleError(f"{element} is not a date or timestamp.")
        if not isinstance(newest, dt.datetime):
            newest = dt.datetime.combine(newest, dt.time.min)
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=dt.UTC)
        age = (now - newest).total_seconds()
        factor = sla_seconds(1, unit) or 1
        outcome.measured = age / factor
        outcome.status = "pass" if age <= limit else "fail"
        if outcome.status == "fail":
            outcome.reason = f"Newest {element} is {outcome.measured:.1f} {unit} old; the SLA promises at most {sla.get('value')} {unit}."
    except RuleError as exc:
        outcome.reason = str(exc)
    return outcome


def runnable_rules(document: dict) -> list[RuleRef]:
    """The document's quality rules that are checks (``type: text`` rules are descriptions)."""
    return [r for r in contract_rules(document) if str(r.rule.get("type") or "library").lower() != "text"]


def contract_quality_evaluate(
    *,
    platform,
    schema: str,
    document: dict,
    now: dt.datetime | None = None,
    timeout_seconds: float | None = None,
    rule_keys: set[str] | None = None,
) -> list[Outcome]:
    """Run every runnable rule and freshness SLA of ``document`` (only those whose key is in
    ``rule_keys`` when given: the ones due, ``apps.contracts.schedules``) against ``schema`` on
    ``platform``. Rules of ``type: text`` are descriptions, not checks, and are left out.
    A platform that cannot be reached makes every rule an error result."""
    from django.utils import timezone

    now = now or timezone.now()
    refs = runnable_rules(document)
    slas = measured_slas(document)
    if rule_keys is not None:
        refs = [r for r in refs if r.key in rule_keys]
        slas = [s for s in slas if sla_key(s, document) in rule_keys]
    try:
        session = ReadOnlySession(platform, timeout_seconds=timeout_seconds).__enter__()
    except Exception as exc:  # noqa: BLE001 - unreachable platform: each rule reports it
        reason = f"Cannot connect to {platform.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return [
            Outcome(
                r.key,
                r.label,
                r.object_name,
                r.property_name,
                str(r.rule.get("metric") or r.rule.get("type") or ""),
                r.expectation,
                "error",
                None,
                reason[:500],
            )
            for r in refs
        ]
    try:
        outcomes = [run_rule(session, schema=schema, document=document, ref=r) for r in refs]
        outcomes += [run_freshness(session, schema=schema, document=document, sla=s, now=now) for s in slas]
    finally:
        session.__exit__(None, None, None)
    return outcomes
