"""PostgreSQL grants: one NOLOGIN role per grant, granted to the consumer's login.

Statements (PostgreSQL docs: "GRANT", "ALTER DEFAULT PRIVILEGES", "DROP OWNED"):

* apply: ``CREATE ROLE r NOLOGIN`` (if missing); ``GRANT USAGE ON SCHEMA s TO r``;
  ``GRANT SELECT ON ALL TABLES IN SCHEMA s TO r`` plus ``ALTER DEFAULT PRIVILEGES IN SCHEMA s
  GRANT SELECT ON TABLES TO r`` (tables the service account creates later are covered), or
  ``GRANT SELECT ON s.t1, s.t2 TO r`` for a table port; ``GRANT r TO login``.
* revoke: ``REVOKE r FROM login``; ``DROP OWNED BY r`` (its privileges and default
  privileges in this database); ``DROP ROLE r``.

Each call runs in one transaction under an advisory lock on the role name, so two workers
applying the same grant (a redelivered task) never create it twice. Identifiers are always
quoted by ``psycopg.sql.Identifier``.
"""
from __future__ import annotations

import psycopg
from psycopg import errors, sql

from .base import GrantAdapter, GrantResult, GrantSpec, PlatformGrantError, TransientPlatformError

_TRANSIENT = (errors.LockNotAvailable, errors.DeadlockDetected, errors.QueryCanceled, errors.AdminShutdown)


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
        result = GrantResult()
        try:
            with self._connect(spec.database) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [spec.role_name])

                def execute(statement: sql.Composable) -> None:
                    conn.execute(statement)
                    result.statements.append(statement.as_string(conn))

                body(conn, execute)
        except _TRANSIENT as exc:
            raise TransientPlatformError(_first_line(exc)) from None
        except psycopg.OperationalError as exc:
            raise TransientPlatformError(_first_line(exc)) from None
        except psycopg.Error as exc:
            raise PlatformGrantError(_first_line(exc)) from None
        return result

    def apply(self, spec: GrantSpec) -> GrantResult:
        role, schema = sql.Identifier(spec.role_name), sql.Identifier(spec.schema)
        privileges = sql.SQL(", ").join(sql.SQL(p) for p in _checked_privileges(spec.privileges))

        def body(conn, execute):
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
            if spec.tables:
                tables = sql.SQL(", ").join(sql.Identifier(spec.schema, t) for t in spec.tables)
                execute(sql.SQL("GRANT {} ON {} TO {}").format(privileges, tables, role))
            else:
                execute(sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(privileges, schema, role))
                execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
                        schema, privileges, role
                    )
                )
            execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(spec.principal)))

        return self._run(spec, body)

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

    def inspect(self, spec: GrantSpec) -> dict:
        with self._connect(spec.database) as conn:
            if not _role_exists(conn, spec.role_name):
                return {"role_exists": False, "granted_to_principal": False, "tables": {}}
            granted = bool(
                _role_exists(conn, spec.principal)
                and conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [spec.principal, spec.role_name]).fetchone()[0]
            )
            tables: dict[str, list[str]] = {}
            for table, privilege in conn.execute(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s AND table_schema = %s ORDER BY 1, 2",
                [spec.role_name, spec.schema],
            ):
                tables.setdefault(table, []).append(privilege)
        return {"role_exists": True, "granted_to_principal": granted, "tables": tables}


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
