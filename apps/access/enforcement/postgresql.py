"""PostgreSQL grants: one NOLOGIN role per grant, granted to the consumer's login (or team role).

Statements (PostgreSQL docs: "GRANT", "ALTER DEFAULT PRIVILEGES", "DROP OWNED"):

* apply: ``CREATE ROLE r NOLOGIN`` (if missing); ``GRANT USAGE ON SCHEMA s TO r``; then
  - every table: ``GRANT SELECT ON ALL TABLES IN SCHEMA s TO r`` plus ``ALTER DEFAULT
    PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO r`` (tables the service account creates
    later are covered);
  - a table port: ``GRANT SELECT ON s.t1, s.t2 TO r``;
  - a column scope: ``GRANT SELECT (c1, c2) ON s.t TO r`` for each table in scope that has at
    least one of the columns (no default privileges: PostgreSQL has none at column level);
  and ``GRANT r TO login``.
* revoke: ``REVOKE r FROM login``; ``DROP OWNED BY r`` (its privileges and default
  privileges in this database); ``DROP ROLE r``.
* inspect: the role's ACL entries read from ``pg_namespace.nspacl``, ``pg_class.relacl``,
  ``pg_attribute.attacl``, ``pg_default_acl`` and ``pg_auth_members`` (every schema of the
  database, so a privilege added by hand anywhere is seen), next to what apply would grant.

Each call runs in one transaction under an advisory lock on the schema: concurrent GRANTs on
the same tables would otherwise fail with "tuple concurrently updated", and two workers applying
the same grant (a redelivered task) never create it twice. Identifiers are always quoted by
``psycopg.sql.Identifier``.
"""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from apps.platforms.locations import system_location_refusal

from .base import (
    GrantAdapter,
    GrantResult,
    GrantSpec,
    Inspection,
    PlatformGrantError,
    Privilege,
    TransientPlatformError,
    column_in_scope,
)

_TRANSIENT = (errors.LockNotAvailable, errors.DeadlockDetected, errors.QueryCanceled, errors.AdminShutdown)
#: ``GRANT ... ON ALL TABLES IN SCHEMA`` covers tables, views, materialized views, foreign and
#: partitioned tables.
_TABLE_KINDS = ["r", "p", "v", "m", "f"]


class PostgresGrantAdapter(GrantAdapter):
    def _connect(self, database: str) -> psycopg.Connection:
        params = self.platform.connection_params()
        try:
            return psycopg.connect(
                host=params.host or None,
                port=params.port,
                dbname=database or params.database,
                user=params.username or None,
                password=params.password or None,
                connect_timeout=5,
                options="-c lock_timeout=5s -c statement_timeout=60s",
            )
        except psycopg.OperationalError as exc:
            raise TransientPlatformError(
                f"Cannot connect to {self.platform.name} ({params.host}:{params.port}): {_first_line(exc)}"
            ) from None

    def _run(self, spec: GrantSpec, body) -> GrantResult:
        return self._run_many([spec], lambda conn, execute, _spec: body(conn, execute))[0]

    def _run_many(self, specs: list[GrantSpec], body, *, isolate: bool = False, once: bool = False) -> list:
        """Run ``body(conn, execute, spec)`` for each spec in one transaction, under the advisory
        lock of each schema involved (taken in sorted order: no deadlock between batches).

        ``isolate``: each spec in a savepoint, its permanent error becomes its outcome; otherwise
        the first error aborts all; ``once``: ``body(conn, None, None)`` once for the whole
        batch. Transient errors always raise TransientPlatformError.
        """
        outcomes: list = []
        databases = {s.database for s in specs}
        if len(databases) != 1:
            raise PlatformGrantError("A batch of grants must target one database.")
        try:
            with self._connect(databases.pop()) as conn, conn.transaction():
                for schema in sorted({s.schema for s in specs}):
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext('mesh_portal.grants'), hashtext(%s))", [schema])
                if once:
                    body(conn, None, None)
                    specs = []
                for spec in specs:
                    result = GrantResult()

                    def execute(statement: sql.Composable, result=result) -> None:
                        conn.execute(statement)
                        result.statements.append(statement.as_string(conn))

                    if not isolate:
                        body(conn, execute, spec)
                        outcomes.append(result)
                        continue
                    try:
                        with conn.transaction():
                            body(conn, execute, spec)
                        outcomes.append(result)
                    except (*_TRANSIENT, psycopg.OperationalError):
                        raise
                    except psycopg.Error as exc:
                        outcomes.append(PlatformGrantError(_first_line(exc)))
                    except PlatformGrantError as exc:
                        outcomes.append(exc)
        except _TRANSIENT as exc:
            raise TransientPlatformError(_first_line(exc)) from None
        except psycopg.OperationalError as exc:
            raise TransientPlatformError(_first_line(exc)) from None
        except psycopg.Error as exc:
            raise PlatformGrantError(_first_line(exc)) from None
        return outcomes

    def apply(self, spec: GrantSpec) -> GrantResult:
        outcome = self._run_many([spec], self._apply_body)[0]
        return outcome

    def apply_many(self, specs: list[GrantSpec]) -> list[GrantResult | PlatformGrantError]:
        """All ``specs`` in one connection and transaction (one commit, one lock per schema).

        Fast path (grants without a column scope, one database): logins, roles and schemas are
        checked with one query, specs that cannot apply get their error, and the rest is sent as
        one script of multi-grantee statements (``GRANT SELECT ON ALL TABLES IN SCHEMA s TO r1,
        r2, ...``: each table's ACL is rewritten once per batch, not once per grant). Otherwise,
        or when the script fails, each spec runs in a savepoint so an error fails only its grant.
        """
        if len({s.database for s in specs}) == 1 and not any(s.columns for s in specs):
            try:
                return self._apply_script(specs)
            except TransientPlatformError:
                raise
            except PlatformGrantError:
                pass  # e.g. a table of a table port is missing: find out which spec, one by one
        outcomes: list = []
        for database in dict.fromkeys(s.database for s in specs):
            group = [s for s in specs if s.database == database]
            results = iter(self._run_many(group, self._apply_body, isolate=True))
            outcomes += [(s, next(results)) for s in group]
        by_spec = {id(s): o for s, o in outcomes}
        return [by_spec[id(s)] for s in specs]

    def _apply_script(self, specs: list[GrantSpec]) -> list[GrantResult | PlatformGrantError]:
        outcomes: dict[int, GrantResult | PlatformGrantError] = {}

        def body(conn, execute, _spec):
            names = sorted({s.principal for s in specs} | {s.role_name for s in specs})
            roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [names])}
            schemas = {
                n
                for (n,) in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [sorted({s.schema for s in specs})]
                )
            }
            valid = []
            for i, spec in enumerate(specs):
                if refusal := system_location_refusal(self.platform, spec.schema, spec.database):  # defence in depth
                    outcomes[i] = PlatformGrantError(refusal)
                elif spec.principal not in roles:
                    outcomes[i] = PlatformGrantError(
                        f"The login {spec.principal!r} does not exist on {self.platform.name}; "
                        "ask the platform team to create it or fix the identity mapping."
                    )
                elif spec.schema not in schemas:
                    outcomes[i] = PlatformGrantError(f"Schema {spec.schema!r} does not exist on {self.platform.name}.")
                else:
                    outcomes[i] = GrantResult()
                    valid.append(i)
            script: list[tuple[sql.Composable, list[int], sql.Composed | None]] = []
            for i in valid:
                if specs[i].role_name not in roles:
                    script.append(
                        (sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(specs[i].role_name)), [i], None)
                    )
            groups: dict[tuple, list[int]] = {}
            for i in valid:
                spec = specs[i]
                groups.setdefault((spec.schema, spec.tables, tuple(_checked_privileges(spec.privileges))), []).append(i)
            for (schema, tables, privileges), members in groups.items():
                privilege_list = sql.SQL(", ").join(sql.SQL(p) for p in privileges)
                templates = [
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Placeholder("g"))
                ]
                if tables:
                    objects = sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
                    templates.append(
                        sql.SQL("GRANT {} ON {} TO {}").format(privilege_list, objects, sql.Placeholder("g"))
                    )
                else:
                    templates.append(
                        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(
                            privilege_list, sql.Identifier(schema), sql.Placeholder("g")
                        )
                    )
                    templates.append(
                        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
                            sql.Identifier(schema), privilege_list, sql.Placeholder("g")
                        )
                    )
                grantees = sql.SQL(", ").join(sql.Identifier(specs[i].role_name) for i in members)
                for template in templates:
                    script.append((_fill(template, grantees), members, template))
            for i in valid:
                script.append(
                    (
                        sql.SQL("GRANT {} TO {}").format(
                            sql.Identifier(specs[i].role_name), sql.Identifier(specs[i].principal)
                        ),
                        [i],
                        None,
                    )
                )
            if script:
                # One round trip: without parameters psycopg sends the script as a simple query.
                conn.execute(sql.SQL(";\n").join(statement for statement, _, _ in script))
                for statement, members, template in script:
                    for i in members:
                        # The attempt log shows each grant its own share of a multi-grantee statement.
                        own = statement if template is None else _fill(template, sql.Identifier(specs[i].role_name))
                        outcomes[i].statements.append(own.as_string(conn))

        self._run_many(specs, body, once=True)
        return [outcomes[i] for i in range(len(specs))]

    def _apply_body(self, conn, execute, spec: GrantSpec) -> None:
        role, schema = sql.Identifier(spec.role_name), sql.Identifier(spec.schema)
        privileges = _checked_privileges(spec.privileges)
        privilege_list = sql.SQL(", ").join(sql.SQL(p) for p in privileges)
        if refusal := system_location_refusal(self.platform, spec.schema, spec.database):  # defence in depth
            raise PlatformGrantError(refusal)

        if not _role_exists(conn, spec.principal):
            raise PlatformGrantError(
                f"The login {spec.principal!r} does not exist on {self.platform.name}; "
                "ask the platform team to create it or fix the identity mapping."
            )
        if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [spec.schema]).fetchone():
            raise PlatformGrantError(f"Schema {spec.schema!r} does not exist on {self.platform.name}.")
        if not _role_exists(conn, spec.role_name):
            execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
        execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        if spec.columns:
            scoped = _scoped_columns(conn, spec)
            if not scoped:
                raise PlatformGrantError(
                    f"None of the columns {', '.join(spec.columns)} exist in the tables of {spec.schema!r}."
                )
            for table, columns in scoped.items():
                execute(
                    sql.SQL("GRANT {} ({}) ON {} TO {}").format(
                        privilege_list,
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.Identifier(spec.schema, table),
                        role,
                    )
                )
        elif spec.tables:
            tables = sql.SQL(", ").join(sql.Identifier(spec.schema, t) for t in spec.tables)
            execute(sql.SQL("GRANT {} ON {} TO {}").format(privilege_list, tables, role))
        else:
            execute(sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(privilege_list, schema, role))
            execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
                    schema, privilege_list, role
                )
            )
        execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(spec.principal)))

    def revoke(self, spec: GrantSpec) -> GrantResult:
        role = sql.Identifier(spec.role_name)

        def body(conn, execute):
            if not _role_exists(conn, spec.role_name):
                return  # already revoked: idempotent success
            if spec.principal and _role_exists(conn, spec.principal):
                execute(sql.SQL("REVOKE {} FROM {}").format(role, sql.Identifier(spec.principal)))
            execute(sql.SQL("DROP OWNED BY {}").format(role))
            execute(sql.SQL("DROP ROLE {}").format(role))

        return self._run(spec, body)

    def inspect(self, spec: GrantSpec) -> Inspection:
        try:
            with self._connect(spec.database) as conn:
                wanted = self._wanted(conn, spec)
                row = conn.execute("SELECT oid FROM pg_roles WHERE rolname = %s", [spec.role_name]).fetchone()
                if row is None:
                    return Inspection(role_exists=False, actual=frozenset(), wanted=wanted)
                return Inspection(role_exists=True, actual=_actual(conn, row[0]), wanted=wanted)
        except psycopg.OperationalError as exc:
            raise TransientPlatformError(_first_line(exc)) from None
        except psycopg.Error as exc:
            raise PlatformGrantError(_first_line(exc)) from None

    def managed_roles(self, prefix: str) -> set[str]:
        try:
            with self._connect("") as conn:
                return {
                    r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", [prefix])
                }
        except psycopg.OperationalError as exc:
            raise TransientPlatformError(_first_line(exc)) from None

    def _wanted(self, conn, spec: GrantSpec) -> frozenset[Privilege]:
        privileges = _checked_privileges(spec.privileges)
        wanted = {Privilege("member", (spec.principal,), "MEMBER"), Privilege("schema", (spec.schema,), "USAGE")}
        if spec.columns:
            for table, columns in _scoped_columns(conn, spec).items():
                wanted |= {Privilege("column", (spec.schema, table, c), p) for c in columns for p in privileges}
        else:
            tables = spec.tables or [
                t
                for (t,) in conn.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = ANY(%s)",
                    [spec.schema, _TABLE_KINDS],
                )
            ]
            wanted |= {Privilege("table", (spec.schema, t), p) for t in tables for p in privileges}
            if not spec.tables:
                wanted |= {Privilege("default", (spec.schema,), p) for p in privileges}
        return frozenset(wanted)

    def remove(self, spec: GrantSpec, privileges: frozenset[Privilege]) -> GrantResult:
        role = sql.Identifier(spec.role_name)

        def body(conn, execute):
            if not _role_exists(conn, spec.role_name):
                return
            for p in sorted(privileges):
                if p.kind == "default" and " ON " in p.privilege:
                    continue  # default privileges on sequences/functions: never granted by the portal
                verb = (
                    sql.SQL(_checked_privileges([p.privilege])[0]) if p.kind in ("table", "column", "default") else None
                )
                if p.kind == "member" and _role_exists(conn, p.target[0]):
                    execute(sql.SQL("REVOKE {} FROM {}").format(role, sql.Identifier(p.target[0])))
                elif p.kind == "schema":
                    schema_privilege = {"USAGE": "USAGE", "CREATE": "CREATE"}[p.privilege]
                    execute(
                        sql.SQL("REVOKE {} ON SCHEMA {} FROM {}").format(
                            sql.SQL(schema_privilege), sql.Identifier(p.target[0]), role
                        )
                    )
                elif p.kind == "table":
                    execute(sql.SQL("REVOKE {} ON {} FROM {}").format(verb, sql.Identifier(*p.target), role))
                elif p.kind == "column":
                    execute(
                        sql.SQL("REVOKE {} ({}) ON {} FROM {}").format(
                            verb, sql.Identifier(p.target[2]), sql.Identifier(*p.target[:2]), role
                        )
                    )
                elif p.kind == "default":
                    execute(
                        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} REVOKE {} ON TABLES FROM {}").format(
                            sql.Identifier(p.target[0]), verb, role
                        )
                    )

        return self._run(spec, body)


def _actual(conn, role_oid: int) -> frozenset[Privilege]:
    found: set[Privilege] = set()
    for (member,) in conn.execute(
        "SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member WHERE am.roleid = %s", [role_oid]
    ):
        found.add(Privilege("member", (member,), "MEMBER"))
    for schema, privilege in conn.execute(
        "SELECT n.nspname, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = %s",
        [role_oid],
    ):
        found.add(Privilege("schema", (schema,), privilege))
    for schema, table, privilege in conn.execute(
        "SELECT n.nspname, c.relname, a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "aclexplode(c.relacl) a WHERE a.grantee = %s",
        [role_oid],
    ):
        found.add(Privilege("table", (schema, table), privilege))
    for schema, table, column, privilege in conn.execute(
        "SELECT n.nspname, c.relname, att.attname, a.privilege_type FROM pg_attribute att "
        "JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "aclexplode(att.attacl) a WHERE a.grantee = %s AND NOT att.attisdropped",
        [role_oid],
    ):
        found.add(Privilege("column", (schema, table, column), privilege))
    for schema, objtype, privilege in conn.execute(
        "SELECT coalesce(n.nspname, '*'), d.defaclobjtype, a.privilege_type FROM pg_default_acl d "
        "LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a WHERE a.grantee = %s",
        [role_oid],
    ):
        found.add(Privilege("default", (schema,), privilege if objtype == "r" else f"{privilege} ON {objtype}"))
    return frozenset(found)


def _scoped_columns(conn, spec: GrantSpec) -> dict[str, list[str]]:
    """``{table: [column, ...]}``: the tables in scope having at least one of ``spec.columns``."""
    scoped: dict[str, list[str]] = {}
    # Entries are ``table.column`` (an access request's scope) or bare names: compare both ways.
    bare = [c.rsplit(".", 1)[-1] for c in spec.columns]
    for table, column in conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = ANY(%s) "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY(%s) AND (cardinality(%s::text[]) = 0 "
        "OR c.relname = ANY(%s)) ORDER BY c.relname, a.attnum",
        [spec.schema, _TABLE_KINDS, list({*spec.columns, *bare}), list(spec.tables), list(spec.tables)],
    ):
        if column_in_scope(spec.columns, table, column):
            scoped.setdefault(table, []).append(column)
    return scoped


def _fill(template: sql.Composed, grantees: sql.Composable) -> sql.Composed:
    """``template`` with its ``{g}`` placeholder replaced by ``grantees``."""
    return sql.Composed([grantees if isinstance(part, sql.Placeholder) else part for part in template])


def _role_exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone() is not None


def _checked_privileges(privileges) -> list[str]:
    allowed = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
    checked = [p.upper() for p in privileges]
    unknown = [p for p in checked if p not in allowed]
    if unknown or not checked:
        raise PlatformGrantError(f"Unsupported table privileges: {unknown or 'none given'}")
    return checked


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
