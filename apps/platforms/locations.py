"""Platform locations that can never be exposed: the system's own schemas (databases on MariaDB) and
what a platform's operators reserve for its service account. Pure functions of the platform's kind,
name, default database and ``reserved_locations``; no database access (models and grant adapters use
them too). See ``docs/security.md``, "What is never exposed".
"""

from __future__ import annotations

#: Schemas (databases on MariaDB) of each platform kind that are the system's own.
SYSTEM_SCHEMAS: dict[str, frozenset[str]] = {
    "postgresql": frozenset({"pg_catalog", "information_schema"}),
    "mariadb": frozenset({"mysql", "information_schema", "performance_schema", "sys"}),
}
#: Prefixes the system reserves: PostgreSQL refuses ``CREATE SCHEMA pg_...`` to users, and keeps
#: ``pg_toast``, ``pg_temp_N`` and ``pg_toast_temp_N`` there.
SYSTEM_SCHEMA_PREFIXES: dict[str, tuple[str, ...]] = {"postgresql": ("pg_",)}


def is_system_location(kind: str, schema: str) -> bool:
    """Whether ``schema`` (a database on MariaDB) is a system location of a ``kind`` platform
    (``"postgresql"``, ``"mariadb"``). Compared case-insensitively, so ``PG_CATALOG`` is refused too."""
    name = (schema or "").strip().casefold()
    return name in SYSTEM_SCHEMAS.get(kind, frozenset()) or name.startswith(SYSTEM_SCHEMA_PREFIXES.get(kind, ()))


def system_location_refusal(platform, schema: str, database: str = "") -> str | None:
    """Why ``schema`` (in ``database``, blank: the platform's) of ``platform`` may never be
    exposed, or None. Covers :func:`is_system_location` and the platform's
    ``reserved_locations`` (entries ``schema``, ``database.schema`` or ``database.*``)."""
    if is_system_location(platform.kind, schema):
        return f"{schema!r} is a system location of {platform.name}; it can never be exposed."
    database = (database or platform.database or "").casefold()
    name = (schema or "").strip().casefold()
    for entry in platform.reserved_locations or []:
        entry = str(entry).strip().casefold()
        db, _, sch = entry.rpartition(".")
        if (not db and sch == name) or (db and db == database and sch in ("*", name)):
            return f"{schema!r} is reserved for {platform.name}'s own service account; it can never be exposed."
    return None
