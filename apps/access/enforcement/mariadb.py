"""MariaDB grants (PyMySQL): one role per grant, reached by the consumer through one umbrella role.

Why roles, and why an umbrella (MariaDB docs: "Roles Overview", "SET DEFAULT ROLE", "GRANT"):
a MariaDB session has **one** active role, and a user has **one** default role. Granting each
grant's role straight to the consumer would leave every grant but the last unusable (or make
the consumer ``SET ROLE`` before each query), and direct grants to the user cannot be taken
back one by one when two grants overlap (e.g. a whole database and a column scope in it).
So:

* each grant gets its own role ``r`` holding exactly its privileges (revoke = ``DROP ROLE r``,
  reconciliation inspects ``r`` alone);
* each consumer login gets one umbrella role ``<prefix>via_<hash of the login>``; every grant
  role of that login is granted to the umbrella (roles nest), and the umbrella is the login's
  default role, so a new session has all its grants without ``SET ROLE``. A default role the
  login had before (not ours) is granted to the umbrella first, so it keeps those privileges;
* a team principal that is itself a role gets ``r`` granted directly (whoever uses the team
  role has it).

Statements: apply: ``CREATE ROLE IF NOT EXISTS r``; ``GRANT SELECT ON db.* TO r`` (every
table, tables created later included: the database-level privilege is the equivalent of
PostgreSQL's default privileges), or ``GRANT SELECT ON db.t TO r`` (a table port), or
``GRANT SELECT (c1, c2) ON db.t TO r`` for each table in scope having one of the columns
(column scope); ``CREATE ROLE IF NOT EXISTS u``; ``GRANT u TO login``; ``GRANT r TO u``;
``SET DEFAULT ROLE u FOR login``. Revoke: ``DROP ROLE IF EXISTS r`` (its privileges and its
grant to the umbrella go with it; the umbrella stays for the login's other grants).

MariaDB DDL is not transactional: each statement is idempotent instead (``IF NOT EXISTS``,
GRANT of a held privilege is a no-op), and calls for one database are serialised
with ``GET_LOCK``. PyMySQL has no identifier composition: every identifier goes through
:func:`quote_identifier` (backticks, embedded backticks doubled) and database names in
database-level grants through :func:`quote_db_pattern` (``_`` and ``%`` are wildcards there).
Values (names compared in ``mysql.*``) are always bound parameters.
"""

from __future__ import annotations

import hashlib

import pymysql
from django.conf import settings

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

#: Client/server error codes worth retrying: too many connections, can't connect, server gone,
#: lost connection, lock wait timeout, deadlock.
_TRANSIENT_CODES = {1040, 1205, 1213, 2002, 2003, 2006, 2013}
_LOCK_WAIT_S = 5

#: Privilege columns of ``mysql.db`` / ``mysql.user`` → the privilege's SQL name. Doubles as the
#: allow-list of privilege words that may appear in a statement.
_PRIV_COLUMNS = {
    "Select_priv": "SELECT",
    "Insert_priv": "INSERT",
    "Update_priv": "UPDATE",
    "Delete_priv": "DELETE",
    "Create_priv": "CREATE",
    "Drop_priv": "DROP",
    "Grant_priv": "GRANT OPTION",
    "References_priv": "REFERENCES",
    "Index_priv": "INDEX",
    "Alter_priv": "ALTER",
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Lock_tables_priv": "LOCK TABLES",
    "Create_view_priv": "CREATE VIEW",
    "Show_view_priv": "SHOW VIEW",
    "Create_routine_priv": "CREATE ROUTINE",
    "Alter_routine_priv": "ALTER ROUTINE",
    "Execute_priv": "EXECUTE",
    "Event_priv": "EVENT",
    "Trigger_priv": "TRIGGER",
    "Delete_history_priv": "DELETE HISTORY",
    "Reload_priv": "RELOAD",
    "Shutdown_priv": "SHUTDOWN",
    "Process_priv": "PROCESS",
    "File_priv": "FILE",
    "Show_db_priv": "SHOW DATABASES",
    "Super_priv": "SUPER",
    "Repl_slave_priv": "REPLICATION SLAVE",
    "Repl_client_priv": "REPLICATION CLIENT",
    "Create_user_priv": "CREATE USER",
    "Create_tablespace_priv": "CREATE TABLESPACE",
}
_ALLOWED_PRIVILEGES = frozenset(_PRIV_COLUMNS.values())
#: Words of ``tables_priv.Table_priv`` / ``columns_priv.Column_priv`` that differ from the SQL name.
_SET_WORDS = {"GRANT": "GRANT OPTION", "DELETE VERSIONING ROWS": "DELETE HISTORY"}


# --- quoting (audited: the only way a name reaches a statement) ---------------------------------


def quote_identifier(name: str) -> str:
    """``name`` as a MariaDB quoted identifier: in backticks, each embedded backtick doubled.

    Works for database, table, column, role and user/host names (MariaDB docs: "Identifier
    Names"). Raises PlatformGrantError for what no quoting can carry: an empty name, NUL, or a
    character outside the Basic Multilingual Plane.
    """
    if not isinstance(name, str) or not name:
        raise PlatformGrantError("An empty name cannot be used as a MariaDB identifier.")
    if "\x00" in name or any(ord(ch) > 0xFFFF for ch in name):
        raise PlatformGrantError(f"{name!r} contains characters MariaDB identifiers cannot hold.")
    return "`" + name.replace("`", "``") + "`"


def quote_db_pattern(name: str) -> str:
    """A database name for a database-level grant (``ON db.*``), where ``_`` and ``%`` are
    wildcards: escaped with a backslash (and the backslash itself), so ``a_b`` never also
    matches ``aXb``; then quoted by :func:`quote_identifier`."""
    return quote_identifier(name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%"))


def _unescape_db_pattern(pattern: str) -> str:
    out, escaped = [], False
    for ch in pattern:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def quote_account(user: str, host: str) -> str:
    """``user@host`` as ``\\`user\\`@\\`host\\```; a role (empty host) as its quoted name."""
    return quote_identifier(user) if host == "" else f"{quote_identifier(user)}@{quote_identifier(host)}"


def _checked_privileges(privileges) -> list[str]:
    checked = [p.upper() for p in privileges]
    unknown = [p for p in checked if p not in _ALLOWED_PRIVILEGES]
    if unknown or not checked:
        raise PlatformGrantError(f"Unsupported privileges: {unknown or 'none given'}")
    return checked


def _split_principal(principal: str) -> tuple[str, str]:
    user, sep, host = principal.rpartition("@")
    return (user, host) if sep and user else (principal, "%")


def _set_words(value) -> list[str]:
    words = value if isinstance(value, (set, frozenset, list, tuple)) else (value or "").split(",")
    return [_SET_WORDS.get(w.strip().upper(), w.strip().upper()) for w in words if w and w.strip()]


def grant_lock_name(schema: str) -> str:
    """The ``GET_LOCK`` name serialising grant changes on one database (at most 64 characters)."""
    return "mesh_portal:" + hashlib.sha1(schema.encode()).hexdigest()


class MariaDBGrantAdapter(GrantAdapter):
    def _connect(self):
        params = self.platform.connection_params()
        try:
            return pymysql.connect(
                host=params.host or "127.0.0.1",
                port=params.port,
                user=params.username or None,
                password=params.password or "",
                database=None,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=5,
                read_timeout=60,
                write_timeout=60,
            )
        except pymysql.err.MySQLError as exc:
            raise _translate(exc, f"Cannot connect to {self.platform.name} ({params.host}:{params.port})") from None

    def _run(self, spec: GrantSpec, body) -> GrantResult:
        result = GrantResult()
        lock = grant_lock_name(spec.schema)
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, %s)", [lock, _LOCK_WAIT_S])
                if cur.fetchone()[0] != 1:
                    raise TransientPlatformError(f"Grant {spec.role_name} is locked by another worker; retrying later.")
                try:

                    def execute(statement: str) -> None:
                        cur.execute(statement)
                        result.statements.append(statement)

                    body(cur, execute)
                finally:
                    cur.execute("SELECT RELEASE_LOCK(%s)", [lock])
        except pymysql.err.MySQLError as exc:
            raise _translate(exc) from None
        finally:
            conn.close()
        return result

    # -- principal ------------------------------------------------------------------------------

    def _principal(self, cur, spec: GrantSpec) -> tuple[str, str, bool]:
        """``(user, host, is_role)`` of the principal; PlatformGrantError when it does not exist."""
        if "@" not in spec.principal:
            cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = '' AND is_role = 'Y'", [spec.principal])
            if cur.fetchone():
                return spec.principal, "", True
        user, host = _split_principal(spec.principal)
        cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = %s", [user, host])
        if not cur.fetchone():
            raise PlatformGrantError(
                f"The login {spec.principal!r} does not exist on {self.platform.name}; "
                "ask the platform team to create it or fix the identity mapping."
            )
        return user, host, False

    @staticmethod
    def umbrella_role(user: str, host: str) -> str:
        """The role every grant role of login ``user@host`` is granted to (its default role)."""
        return f"{settings.GRANT_ROLE_PREFIX}via_{hashlib.sha1(f'{user}@{host}'.encode()).hexdigest()[:12]}"

    def _holder(self, cur, spec: GrantSpec) -> tuple[str, str, str, bool]:
        user, host, is_role = self._principal(cur, spec)
        return user, host, (user if is_role else self.umbrella_role(user, host)), is_role

    # -- apply / revoke -------------------------------------------------------------------------

    def apply(self, spec: GrantSpec) -> GrantResult:
        privileges = ", ".join(_checked_privileges(spec.privileges))
        role = quote_identifier(spec.role_name)

        def body(cur, execute):
            if refusal := system_location_refusal(self.platform, spec.schema):  # defence in depth
                raise PlatformGrantError(refusal)
            user, host, holder, is_role = self._holder(cur, spec)
            cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [spec.schema])
            if not cur.fetchone():
                raise PlatformGrantError(f"Database {spec.schema!r} does not exist on {self.platform.name}.")
            execute(f"CREATE ROLE IF NOT EXISTS {role}")
            if spec.columns:
                scoped = _scoped_columns(cur, spec)
                if not scoped:
                    raise PlatformGrantError(
                        f"None of the columns {', '.join(spec.columns)} exist in the tables of {spec.schema!r}."
                    )
                for table, columns in scoped.items():
                    cols = ", ".join(quote_identifier(c) for c in columns)
                    execute(
                        f"GRANT {privileges} ({cols}) ON {quote_identifier(spec.schema)}.{quote_identifier(table)} TO {role}"
                    )
            elif spec.tables:
                for table in spec.tables:
                    execute(
                        f"GRANT {privileges} ON {quote_identifier(spec.schema)}.{quote_identifier(table)} TO {role}"
                    )
            else:
                execute(f"GRANT {privileges} ON {quote_db_pattern(spec.schema)}.* TO {role}")
            if not is_role:
                account, umbrella = quote_account(user, host), quote_identifier(holder)
                execute(f"CREATE ROLE IF NOT EXISTS {umbrella}")
                cur.execute("SELECT default_role FROM mysql.user WHERE User = %s AND Host = %s", [user, host])
                previous = (cur.fetchone() or [""])[0] or ""
                if previous and previous != holder:
                    execute(f"GRANT {quote_identifier(previous)} TO {umbrella}")  # keeps what it gave
                execute(f"GRANT {umbrella} TO {account}")
                execute(f"SET DEFAULT ROLE {umbrella} FOR {account}")
            execute(f"GRANT {role} TO {quote_identifier(holder)}")

        return self._run(spec, body)

    def revoke(self, spec: GrantSpec) -> GrantResult:
        def body(cur, execute):
            cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = '' AND is_role = 'Y'", [spec.role_name])
            if cur.fetchone():
                execute(f"DROP ROLE IF EXISTS {quote_identifier(spec.role_name)}")

        return self._run(spec, body)

    # -- inspect / remove -----------------------------------------------------------------------

    def inspect(self, spec: GrantSpec) -> Inspection:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                user, host, holder, is_role = self._holder(cur, spec)
                wanted = set(self._wanted(cur, spec, holder))
                route: set[Privilege] = set()
                if not is_role:
                    account = f"{user}@{host}"
                    wanted |= {
                        Privilege("route", (account, holder), "MEMBER"),
                        Privilege("route", (account, holder), "DEFAULT ROLE"),
                    }
                    cur.execute(
                        "SELECT 1 FROM mysql.roles_mapping WHERE User = %s AND Host = %s AND Role = %s",
                        [user, host, holder],
                    )
                    if cur.fetchone():
                        route.add(Privilege("route", (account, holder), "MEMBER"))
                    cur.execute("SELECT default_role FROM mysql.user WHERE User = %s AND Host = %s", [user, host])
                    if (cur.fetchone() or [""])[0] == holder:
                        route.add(Privilege("route", (account, holder), "DEFAULT ROLE"))
                cur.execute(
                    "SELECT 1 FROM mysql.user WHERE User = %s AND Host = '' AND is_role = 'Y'", [spec.role_name]
                )
                if not cur.fetchone():
                    return Inspection(role_exists=False, actual=frozenset(route), wanted=frozenset(wanted))
                return Inspection(
                    role_exists=True, actual=frozenset(_actual(cur, spec.role_name) | route), wanted=frozenset(wanted)
                )
        except pymysql.err.MySQLError as exc:
            raise _translate(exc) from None
        finally:
            conn.close()

    def managed_roles(self, prefix: str) -> set[str]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT User FROM mysql.user WHERE is_role = 'Y' AND LEFT(User, CHAR_LENGTH(%s)) = %s",
                    [prefix, prefix],
                )
                return {user for (user,) in cur.fetchall()}
        except pymysql.err.MySQLError as exc:
            raise _translate(exc) from None
        finally:
            conn.close()

    def _wanted(self, cur, spec: GrantSpec, holder: str) -> set[Privilege]:
        privileges = _checked_privileges(spec.privileges)
        wanted = {Privilege("member", (holder,), "MEMBER")}
        if spec.columns:
            for table, columns in _scoped_columns(cur, spec).items():
                wanted |= {Privilege("column", (spec.schema, table, c), p) for c in columns for p in privileges}
        elif spec.tables:
            wanted |= {Privilege("table", (spec.schema, t), p) for t in spec.tables for p in privileges}
        else:
            wanted |= {Privilege("schema", (spec.schema,), p) for p in privileges}
        return wanted

    def remove(self, spec: GrantSpec, privileges: frozenset[Privilege]) -> GrantResult:
        role = quote_identifier(spec.role_name)

        def body(cur, execute):
            for p in sorted(privileges):
                if p.kind == "member":
                    user, _, host = p.target[0].partition("@")
                    execute(f"REVOKE {role} FROM {quote_account(user, host)}")
                    continue
                if p.kind not in ("global", "schema", "table", "column"):
                    continue
                verb = _checked_privileges([p.privilege])[0]
                if p.kind == "global":
                    execute(f"REVOKE {verb} ON *.* FROM {role}")
                elif p.kind == "schema":
                    execute(f"REVOKE {verb} ON {quote_db_pattern(p.target[0])}.* FROM {role}")
                elif p.kind == "table":
                    execute(
                        f"REVOKE {verb} ON {quote_identifier(p.target[0])}.{quote_identifier(p.target[1])} FROM {role}"
                    )
                else:
                    execute(
                        f"REVOKE {verb} ({quote_identifier(p.target[2])}) ON "
                        f"{quote_identifier(p.target[0])}.{quote_identifier(p.target[1])} FROM {role}"
                    )

        return self._run(spec, body)


def _actual(cur, role: str) -> set[Privilege]:
    found: set[Privilege] = set()
    cur.execute("SELECT User, Host FROM mysql.roles_mapping WHERE Role = %s AND Admin_option = 'N'", [role])
    for user, host in cur.fetchall():
        found.add(Privilege("member", (user if host == "" else f"{user}@{host}",), "MEMBER"))
    columns = list(_PRIV_COLUMNS)
    cur.execute("SELECT * FROM mysql.user WHERE User = %s AND Host = ''", [role])
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        found |= {
            Privilege("global", ("*",), _PRIV_COLUMNS[c])
            for c, v in zip(names, row, strict=True)
            if c in columns and v == "Y"
        }
    cur.execute("SELECT * FROM mysql.db WHERE User = %s AND Host = ''", [role])
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        db = _unescape_db_pattern(values["Db"])
        found |= {Privilege("schema", (db,), _PRIV_COLUMNS[c]) for c in columns if values.get(c) == "Y"}
    cur.execute("SELECT Db, Table_name, Table_priv FROM mysql.tables_priv WHERE User = %s AND Host = ''", [role])
    for db, table, value in cur.fetchall():
        found |= {Privilege("table", (db, table), w) for w in _set_words(value)}
    cur.execute(
        "SELECT Db, Table_name, Column_name, Column_priv FROM mysql.columns_priv WHERE User = %s AND Host = ''", [role]
    )
    for db, table, column, value in cur.fetchall():
        found |= {Privilege("column", (db, table, column), w) for w in _set_words(value)}
    return found


def _scoped_columns(cur, spec: GrantSpec) -> dict[str, list[str]]:
    """``{table: [column, ...]}``: the tables in scope having at least one of ``spec.columns``."""
    # Entries are ``table.column`` (an access request's scope) or bare names: compare both ways.
    names = sorted({*spec.columns, *(c.rsplit(".", 1)[-1] for c in spec.columns)})
    placeholders = ", ".join(["%s"] * len(names))
    query = (
        f"SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        f"AND COLUMN_NAME IN ({placeholders})"
    )
    params = [spec.schema, *names]
    if spec.tables:
        query += f" AND TABLE_NAME IN ({', '.join(['%s'] * len(spec.tables))})"
        params += list(spec.tables)
    cur.execute(query + " ORDER BY TABLE_NAME, ORDINAL_POSITION", params)
    scoped: dict[str, list[str]] = {}
    for table, column in cur.fetchall():
        if column_in_scope(spec.columns, table, column):
            scoped.setdefault(table, []).append(column)
    return scoped


def _translate(exc: Exception, context: str = "") -> PlatformGrantError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    message = f"{context}: {message}" if context else message
    return TransientPlatformError(message) if code in _TRANSIENT_CODES else PlatformGrantError(message)
