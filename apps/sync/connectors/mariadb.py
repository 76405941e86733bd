"""MariaDB (and MySQL) connector: reads databases, tables and views from ``information_schema``.

On MariaDB a *database* is what PostgreSQL calls a schema: the platform's ``include_schemas``
lists databases, and an asset's ``schema`` is its database. The connection goes through
SQLAlchemy (``mysql+pymysql``) and reads ``information_schema`` in bulk: one query per kind of
information for all databases at once, rather than SQLAlchemy's MySQL inspector, which parses
``SHOW CREATE TABLE`` once per table and has neither row estimates nor update times.

What is read, and where from (MariaDB Knowledge Base, "Information Schema ... Table"):

- ``TABLES``: kind (``BASE TABLE``/``SYSTEM VERSIONED`` are tables, ``VIEW`` views; sequences
  are skipped), comment, ``TABLE_ROWS`` (an estimate for InnoDB) and ``UPDATE_TIME`` (last data
  change; the nearest MariaDB has to PostgreSQL's last-analyzed time, ``NULL`` when unknown).
  A partitioned table is one row there, so it is one asset whatever its partitions.
- ``COLUMNS``: ``COLUMN_TYPE`` (e.g. ``DECIMAL(10,2) UNSIGNED``), nullability, defaults (MariaDB
  10.2.7+ quotes string literals: ``'x'``, and spells expressions: ``current_timestamp()``; an
  automatic update from ``EXTRA`` is appended: ``current_timestamp() ON UPDATE current_timestamp()``),
  ``AUTO_INCREMENT`` and generated columns, comments.
- ``KEY_COLUMN_USAGE``: the primary key (constraint ``PRIMARY``) and foreign keys (rows with a
  ``REFERENCED_TABLE_NAME``), columns in constraint order.
- ``TABLE_PRIVILEGES`` and ``SCHEMA_PRIVILEGES``: who holds which privilege, as
  ``'user'@'host'``. A database-level privilege applies to every table of the database (its
  database name may be a ``LIKE`` pattern such as ``sales\\_%``). Global privileges (``*.*``,
  e.g. root's) are left out, like PostgreSQL superusers. MariaDB shows other accounts'
  privileges only to an account with ``SELECT`` on the ``mysql`` database; without it the list
  is the service account's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from apps.catalog.choices import AssetKind
from apps.platforms.models import ConnectionParams

from .base import (
    Connector,
    ConnectorError,
    DiscoveredAsset,
    DiscoveredColumn,
    DiscoveredForeignKey,
    DiscoveredPrivilege,
)

CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_PORT = 3306
SYSTEM_DATABASES = frozenset({"information_schema", "mysql", "performance_schema", "sys"})

TABLE_TYPE_TO_ASSET_KIND = {
    "BASE TABLE": AssetKind.TABLE,
    "SYSTEM VERSIONED": AssetKind.TABLE,
    "VIEW": AssetKind.VIEW,
}
# Database-level privileges that mean something on a table; the rest (CREATE ROUTINE, EVENT...)
# are about the database itself.
TABLE_LEVEL_PRIVILEGES = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "REFERENCES",
        "INDEX",
        "ALTER",
        "CREATE VIEW",
        "SHOW VIEW",
        "TRIGGER",
        "DELETE HISTORY",
    }
)

# MariaDB/MySQL client and server error numbers (MariaDB KB "MariaDB Error Codes").
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
ER_TOO_MANY_CONNECTIONS = 1040
ER_HOST_NOT_PRIVILEGED = 1130
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005
CR_SERVER_LOST = 2013

_SCHEMATA_SQL = sa.text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
_TABLES_SQL = sa.text(
    """
    SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT, UPDATE_TIME,
           DATA_LENGTH + INDEX_LENGTH AS SIZE_BYTES
    FROM information_schema.TABLES WHERE TABLE_SCHEMA IN :schemas
    """
).bindparams(sa.bindparam("schemas", expanding=True))
_COLUMNS_SQL = sa.text(
    """
    SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE,
           EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN :schemas
    ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION
    """
).bindparams(sa.bindparam("schemas", expanding=True))
_KEYS_SQL = sa.text(
    """
    SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME,
           REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
    FROM information_schema.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA IN :schemas AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL)
    ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
    """
).bindparams(sa.bindparam("schemas", expanding=True))
_TABLE_PRIVILEGES_SQL = sa.text(
    """
    SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE, IS_GRANTABLE
    FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA IN :schemas
    """
).bindparams(sa.bindparam("schemas", expanding=True))
# Every row: the database name may be a LIKE pattern, matched in Python.
_SCHEMA_PRIVILEGES_SQL = sa.text(
    "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES"
)


class MariaDBConnector(Connector):
    """Reads a MariaDB server's databases as the platform's service account.

    Databases are ``platform.include_schemas`` or, when empty, every database the account can
    see but the system ones (``information_schema``, ``mysql``, ``performance_schema``, ``sys``).
    ``platform.database`` is only the database to connect to (may be blank).
    """

    def check(self) -> str:
        with self._connection() as conn:
            version = conn.exec_driver_sql("SELECT VERSION()").scalar_one()
        return f"MariaDB {version}"

    def discover(self) -> list[DiscoveredAsset]:
        with self._connection() as conn:
            schemas = self._schemas(conn)
            if not schemas:
                return []
            params = {"schemas": schemas}
            self.report_progress(0, 5)
            tables = [row for row in conn.execute(_TABLES_SQL, params) if row.TABLE_TYPE in TABLE_TYPE_TO_ASSET_KIND]
            self.report_progress(1, 5)
            columns: dict[tuple[str, str], list] = {}
            for row in conn.execute(_COLUMNS_SQL, params):
                columns.setdefault((row.TABLE_SCHEMA, row.TABLE_NAME), []).append(row)
            self.report_progress(2, 5)
            primary_keys: dict[tuple[str, str], set[str]] = {}
            foreign_keys: dict[tuple[str, str], dict[str, list]] = {}
            for row in conn.execute(_KEYS_SQL, params):
                key = (row.TABLE_SCHEMA, row.TABLE_NAME)
                if row.CONSTRAINT_NAME == "PRIMARY" and row.REFERENCED_TABLE_NAME is None:
                    primary_keys.setdefault(key, set()).add(row.COLUMN_NAME)
                else:
                    foreign_keys.setdefault(key, {}).setdefault(row.CONSTRAINT_NAME, []).append(row)
            self.report_progress(3, 5)
            privileges = self._privileges(conn, schemas, tables)
            self.report_progress(5, 5)
            return sorted(
                (
                    _asset(
                        row,
                        columns.get((row.TABLE_SCHEMA, row.TABLE_NAME), []),
                        primary_keys.get((row.TABLE_SCHEMA, row.TABLE_NAME), set()),
                        foreign_keys.get((row.TABLE_SCHEMA, row.TABLE_NAME), {}),
                        privileges.get((row.TABLE_SCHEMA, row.TABLE_NAME), ()),
                    )
                    for row in tables
                ),
                key=lambda asset: asset.key,
            )

    # -- building blocks ------------------------------------------------------------------

    def _schemas(self, conn: Connection) -> list[str]:
        def missing_message(missing: list[str]) -> str:
            label = "Database" if len(missing) == 1 else "Databases"
            names = ", ".join(f"'{s}'" for s in missing)
            return (
                f"{label} {names} not found on {self._location()}, or user '{self._params().username}' has no "
                "privilege on it: check the platform's databases to sync and the service account's grants."
            )

        visible = [row[0] for row in conn.execute(_SCHEMATA_SQL)]
        return self._select_schemas(
            visible, is_system=lambda s: s.lower() in SYSTEM_DATABASES, missing_message=missing_message
        )

    def _privileges(self, conn: Connection, schemas: list[str], tables) -> dict[tuple[str, str], list]:
        found: dict[tuple[str, str], list[DiscoveredPrivilege]] = {}
        for row in conn.execute(_TABLE_PRIVILEGES_SQL, {"schemas": schemas}):
            found.setdefault((row.TABLE_SCHEMA, row.TABLE_NAME), []).append(
                DiscoveredPrivilege(
                    grantee=row.GRANTEE,
                    privilege=row.PRIVILEGE_TYPE,
                    is_grantable=row.IS_GRANTABLE == "YES",
                )
            )
        self.report_progress(4, 5)
        by_schema: dict[str, list[DiscoveredPrivilege]] = {}
        for row in conn.execute(_SCHEMA_PRIVILEGES_SQL):
            if row.PRIVILEGE_TYPE not in TABLE_LEVEL_PRIVILEGES:
                continue
            privilege = DiscoveredPrivilege(
                grantee=row.GRANTEE,
                privilege=row.PRIVILEGE_TYPE,
                is_grantable=row.IS_GRANTABLE == "YES",
                via_schema=True,
            )
            for schema in schemas:
                if _database_pattern_matches(row.TABLE_SCHEMA, schema):
                    by_schema.setdefault(schema, []).append(privilege)
        for row in tables:
            if held := by_schema.get(row.TABLE_SCHEMA):
                found.setdefault((row.TABLE_SCHEMA, row.TABLE_NAME), []).extend(held)
        return found

    # -- connection ---------------------------------------------------------------------

    def _location(self) -> str:
        host = self.platform.host or "localhost"
        port = self.platform.port or DEFAULT_PORT
        if host.startswith("/"):
            return f"socket {host}"
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _url(self, params: ConnectionParams) -> sa.URL:
        socket = params.host.startswith("/")
        return sa.URL.create(
            "mysql+pymysql",
            username=params.username or None,
            password=params.password or None,
            host=None if socket else (params.host or "localhost"),
            port=None if socket else (params.port or DEFAULT_PORT),
            database=params.database or None,
            query={"unix_socket": params.host, "charset": "utf8mb4"} if socket else {"charset": "utf8mb4"},
        )

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection whose session reads times in UTC; DBAPI errors become ConnectorError."""
        params = self._params()
        engine = sa.create_engine(
            self._url(params),
            poolclass=NullPool,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "read_timeout": 300},
        )
        try:
            try:
                conn = engine.connect()
            except DBAPIError as exc:
                raise ConnectorError(self._connect_error_message(exc, params)) from exc
            with conn:
                try:
                    conn.exec_driver_sql("SET SESSION time_zone = '+00:00'")
                    yield conn
                except DBAPIError as exc:
                    raise ConnectorError(self._read_error_message(exc, params)) from exc
        finally:
            engine.dispose()

    def _connect_error_message(self, exc: DBAPIError, params: ConnectionParams) -> str:
        code, detail = _driver_error(exc, params.password)
        where, user, database = self._location(), params.username, params.database
        low = detail.lower()
        if code == ER_ACCESS_DENIED:
            if "using password: no" in low:
                return (
                    f"Authentication failed for user '{user}' on {where}: the server asks for a password and "
                    "the platform has none (set it, or its environment variable)."
                )
            return f"Authentication failed for user '{user}' on {where}: wrong password or unknown user."
        if code == ER_DBACCESS_DENIED:
            return f"User '{user}' may not use database '{database}' on {where} (missing privileges on it)."
        if code == ER_BAD_DB:
            return f"Database '{database}' does not exist on {where}."
        if code == ER_HOST_NOT_PRIVILEGED:
            return f"The server at {where} does not accept connections from the portal's host."
        if code == ER_TOO_MANY_CONNECTIONS:
            return f"Cannot connect to {where}: the server has too many connections."
        if code == CR_UNKNOWN_HOST or "name or service not known" in low or "errno -2" in low or "errno -3" in low:
            return f"Cannot connect to {where}: unknown host name '{params.host}'."
        if code in (CR_CONN_HOST_ERROR, CR_SERVER_LOST):
            if "refused" in low:
                return f"Cannot connect to {where}: connection refused (is the server running and listening?)."
            if "timed out" in low:
                return f"Cannot connect to {where}: no answer within {CONNECT_TIMEOUT_SECONDS} seconds."
        return f"Cannot connect to {where}: {detail}"

    def _read_error_message(self, exc: DBAPIError, params: ConnectionParams) -> str:
        _, detail = _driver_error(exc, params.password)
        return f"Reading the catalog on {self._location()} as '{params.username}' failed: {detail}"


def _asset(table, columns, primary_key: set[str], foreign_keys: dict[str, list], privileges) -> DiscoveredAsset:
    kind = TABLE_TYPE_TO_ASSET_KIND[table.TABLE_TYPE]
    comment = table.TABLE_COMMENT or ""
    if kind == AssetKind.VIEW and comment == "VIEW":
        comment = ""  # what MariaDB puts in TABLE_COMMENT of every view
    rows = table.TABLE_ROWS
    return DiscoveredAsset(
        schema=table.TABLE_SCHEMA,
        name=table.TABLE_NAME,
        kind=kind,
        description=comment,
        columns=tuple(
            DiscoveredColumn(
                name=col.COLUMN_NAME,
                ordinal=ordinal,
                data_type=_data_type(col.COLUMN_TYPE),
                description=col.COLUMN_COMMENT or "",
                nullable=col.IS_NULLABLE == "YES",
                is_primary_key=col.COLUMN_NAME in primary_key,
                default=_default(col),
            )
            for ordinal, col in enumerate(columns, start=1)
        ),
        foreign_keys=tuple(
            DiscoveredForeignKey(
                name=name,
                columns=tuple(r.COLUMN_NAME for r in parts),
                referred_schema=parts[0].REFERENCED_TABLE_SCHEMA or table.TABLE_SCHEMA,
                referred_table=parts[0].REFERENCED_TABLE_NAME,
                referred_columns=tuple(r.REFERENCED_COLUMN_NAME for r in parts),
            )
            for name, parts in sorted(foreign_keys.items())
        ),
        row_count_estimate=int(rows) if kind == AssetKind.TABLE and rows is not None else None,
        size_bytes=int(table.SIZE_BYTES) if kind == AssetKind.TABLE and table.SIZE_BYTES is not None else None,
        last_analyzed_at=_utc(table.UPDATE_TIME),
        privileges=tuple(privileges),
    )


def _data_type(column_type: str) -> str:
    """``decimal(10,2) unsigned`` -> ``DECIMAL(10,2) UNSIGNED``; enum/set values keep their case."""
    spelled = _TYPE_TOKEN.sub(lambda m: m.group(0) if m.group(0)[0] == "'" else m.group(0).upper(), column_type or "")
    return spelled[:255] or "UNKNOWN"


# A quoted enum/set value (left as is) or a bare word (upper-cased).
_TYPE_TOKEN = re.compile(r"'(?:[^'\\]|\\.|'')*'|[A-Za-z_]+")


def _default(col) -> str:
    extra = (col.EXTRA or "").upper()
    if col.GENERATION_EXPRESSION and "GENERATED" in extra:
        stored = "STORED" if "STORED" in extra else "VIRTUAL"
        return f"GENERATED ALWAYS AS ({col.GENERATION_EXPRESSION}) {stored}"
    if "AUTO_INCREMENT" in extra:
        return "AUTO_INCREMENT"
    default = col.COLUMN_DEFAULT
    if default is None or default == "NULL":  # 'NULL': nullable without a default
        default = ""
    # EXTRA holds the automatic update of a timestamp column, e.g. "on update current_timestamp()";
    # it is part of the column's default behaviour, so it is kept, spelled as in SHOW CREATE TABLE.
    on_update = _ON_UPDATE.search(col.EXTRA or "")
    if on_update:
        default = f"{default} ON UPDATE {on_update.group(1)}".lstrip()
    return str(default)


_ON_UPDATE = re.compile(r"\bon update (\S+)", re.IGNORECASE)


def _utc(value: datetime | None) -> datetime | None:
    # The session's time_zone is UTC, so information_schema times are UTC wall-clock times.
    return value.replace(tzinfo=UTC) if value is not None else None


def _database_pattern_matches(pattern: str, name: str) -> bool:
    """Whether ``name`` matches a grant's database, which may use LIKE wildcards (``%``, ``_``,
    ``\\`` escapes), as in ``GRANT SELECT ON `sales\\_%`.* TO ...``."""
    if "%" not in pattern and "_" not in pattern:
        return pattern == name
    regex = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.fullmatch(regex, name, flags=re.DOTALL) is not None


def _driver_error(exc: DBAPIError, password: str) -> tuple[int | None, str]:
    """(error number, message) of the PyMySQL error, password blanked; SQLAlchemy's str() adds
    the SQL statement, which is left out."""
    orig = exc.orig
    code, message = None, str(orig if orig is not None else exc)
    if orig is not None and getattr(orig, "args", None):
        if isinstance(orig.args[0], int):
            code = orig.args[0]
        if len(orig.args) > 1:
            message = str(orig.args[1])
    message = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    if password:
        message = message.replace(password, "***")
    return code, message
