"""The difference between two versions of a data contract, each change classified as breaking
for consumers or not. Pure functions over ODCS documents (plain dicts as published).

Breaking (Open Data Contract Standard v3.1 sections "Schema", "Data quality", "SLA"):
an object or property removed or renamed, a logical type changed, a physical type changed or
narrowed (``varchar(100)`` → ``varchar(50)``, ``bigint`` → ``integer``), ``required`` added
(also a new required property), the primary key changed, a quality rule removed or its
threshold tightened, an SLA property removed or weakened (latency/freshness longer,
availability/retention lower). Everything else is non-breaking: an added optional property or
object, a widened type, descriptions, tags, team, support, a loosened threshold.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ContractChange:
    """One change between two contract versions. ``kind`` is a stable code
    (``property_removed``, ``type_changed``...); ``path`` says where
    (``orders.amount``, ``sla.latency``); ``before``/``after`` are the values compared."""

    kind: str
    path: str
    breaking: bool
    message: str
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict:
        return asdict(self)


def _list(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _keyed(items: list[dict], key: str = "name") -> dict[str, dict]:
    out = {}
    for item in items:
        name = item.get(key)
        if isinstance(name, str) and name and name not in out:
            out[name] = item
    return out


# --- types --------------------------------------------------------------------------------------

_INTEGER_WIDTH = {
    "tinyint": 1,
    "smallint": 2,
    "int2": 2,
    "mediumint": 3,
    "integer": 4,
    "int": 4,
    "int4": 4,
    "bigint": 8,
    "int8": 8,
}
_FLOAT_WIDTH = {"real": 4, "float4": 4, "float": 8, "double": 8, "double precision": 8, "float8": 8}
_TYPE_ALIASES = {
    "character varying": "varchar",
    "character": "char",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "bool": "boolean",
}


def _parse_type(text: str) -> tuple[str, tuple[int, ...]]:
    match = re.fullmatch(r"\s*([a-zA-Z_ ]+?)\s*(?:\(\s*([\d\s,]+)\s*\))?\s*", text or "")
    if not match:
        return (text or "").strip().lower(), ()
    base = _TYPE_ALIASES.get(match.group(1).lower(), match.group(1).lower())
    args = tuple(int(a) for a in (match.group(2) or "").replace(" ", "").split(",") if a)
    return base, args


def physical_type_change(before: str, after: str) -> str:
    """``"same"``, ``"widened"`` or ``"changed"`` (narrowed or a different type) between two
    physical types as a platform spells them."""
    b, a = _parse_type(before), _parse_type(after)
    if b == a:
        return "same"
    if b[0] == a[0]:
        if not a[1] or (
            b[1]
            and len(a[1]) == len(b[1])
            and all(x >= y for x, y in zip(a[1], b[1], strict=True))
            and (len(a[1]) < 2 or a[1][0] - a[1][1] >= b[1][0] - b[1][1])
        ):
            return "widened"  # varchar(50) → varchar(100) / varchar; numeric(10,2) → numeric(12,2)
        return "changed"
    for widths in (_INTEGER_WIDTH, _FLOAT_WIDTH):
        if b[0] in widths and a[0] in widths:
            return "widened" if widths[a[0]] >= widths[b[0]] else "changed"
    if b[0] in _INTEGER_WIDTH and a[0] in ("numeric", "decimal", "bigint") and not a[1]:
        return "widened"
    if b[0] in ("varchar", "char") and a[0] == "text":
        return "widened"
    return "changed"


# --- schema -------------------------------------------------------------------------------------


def _property_changes(path: str, old: dict, new: dict) -> list[ContractChange]:
    changes: list[ContractChange] = []
    if (old.get("logicalType") or None) != (new.get("logicalType") or None) and old.get("logicalType"):
        changes.append(
            ContractChange(
                "logical_type_changed",
                path,
                True,
                f"{path}: logical type {old.get('logicalType')} → {new.get('logicalType') or 'none'}.",
                old.get("logicalType"),
                new.get("logicalType"),
            )
        )
    before, after = old.get("physicalType"), new.get("physicalType")
    if before and after and before != after:
        how = physical_type_change(str(before), str(after))
        if how != "same":
            changes.append(
                ContractChange(
                    "type_widened" if how == "widened" else "type_changed",
                    path,
                    how != "widened",
                    f"{path}: physical type {before} → {after}"
                    + (" (widened)." if how == "widened" else " (narrowed or changed)."),
                    before,
                    after,
                )
            )
    elif before and not after:
        changes.append(
            ContractChange(
                "type_changed", path, True, f"{path}: physical type {before} no longer promised.", before, None
            )
        )
    if bool(new.get("required")) and not bool(old.get("required")):
        changes.append(ContractChange("required_added", path, True, f"{path} is now required.", False, True))
    elif bool(old.get("required")) and not bool(new.get("required")):
        changes.append(ContractChange("required_removed", path, False, f"{path} is no longer required.", True, False))
    if bool(old.get("primaryKey")) != bool(new.get("primaryKey")) or (
        old.get("primaryKey") and old.get("primaryKeyPosition") != new.get("primaryKeyPosition")
    ):
        changes.append(
            ContractChange(
                "primary_key_changed",
                path,
                True,
                f"{path}: primary key membership changed.",
                [old.get("primaryKey"), old.get("primaryKeyPosition")],
                [new.get("primaryKey"), new.get("primaryKeyPosition")],
            )
        )
    if bool(old.get("unique")) and not bool(new.get("unique")):
        changes.append(ContractChange("unique_removed", path, True, f"{path} is no longer unique.", True, False))
    for key in ("description", "businessName", "classification", "examples", "tags", "criticalDataElement"):
        if old.get(key) != new.get(key):
            changes.append(
                ContractChange(f"{key}_changed", path, False, f"{path}: {key} changed.", old.get(key), new.get(key))
            )
    changes += _properties_changes(path, _list(old.get("properties")), _list(new.get("properties")))
    changes += _quality_changes(path, _list(old.get("quality")), _list(new.get("quality")))
    return changes


def _renamed(removed: dict[str, dict], added: dict[str, dict]) -> dict[str, str]:
    """Old name → new name for items whose ``id`` stayed while the name changed."""
    by_id = {item["id"]: name for name, item in added.items() if item.get("id")}
    return {name: by_id[item["id"]] for name, item in removed.items() if item.get("id") in by_id}


def _properties_changes(parent: str, old_list: list[dict], new_list: list[dict]) -> list[ContractChange]:
    old, new = _keyed(old_list), _keyed(new_list)
    removed = {n: p for n, p in old.items() if n not in new}
    added = {n: p for n, p in new.items() if n not in old}
    renamed = _renamed(removed, added)
    changes: list[ContractChange] = []
    for name, prop in removed.items():
        path = f"{parent}.{name}"
        if name in renamed:
            changes.append(
                ContractChange(
                    "property_renamed", path, True, f"{path} renamed to {renamed[name]}.", name, renamed[name]
                )
            )
            changes += _property_changes(f"{parent}.{renamed[name]}", prop, added[renamed[name]])
        else:
            changes.append(ContractChange("property_removed", path, True, f"{path} removed.", name, None))
    for name, prop in added.items():
        if name in renamed.values():
            continue
        path = f"{parent}.{name}"
        if prop.get("required"):
            changes.append(
                ContractChange("required_property_added", path, True, f"{path} added as required.", None, name)
            )
        else:
            changes.append(ContractChange("property_added", path, False, f"{path} added (optional).", None, name))
    for name in old.keys() & new.keys():
        changes += _property_changes(f"{parent}.{name}", old[name], new[name])
    return changes


def _schema_changes(old_doc: dict, new_doc: dict) -> list[ContractChange]:
    old, new = _keyed(_list(old_doc.get("schema"))), _keyed(_list(new_doc.get("schema")))
    removed = {n: o for n, o in old.items() if n not in new}
    added = {n: o for n, o in new.items() if n not in old}
    renamed = _renamed(removed, added)
    changes: list[ContractChange] = []
    pairs = [(name, name) for name in old.keys() & new.keys()] + list(renamed.items())
    for name in removed:
        if name in renamed:
            changes.append(
                ContractChange(
                    "object_renamed", name, True, f"Object {name} renamed to {renamed[name]}.", name, renamed[name]
                )
            )
        else:
            changes.append(ContractChange("object_removed", name, True, f"Object {name} removed.", name, None))
    for name in added:
        if name not in renamed.values():
            changes.append(ContractChange("object_added", name, False, f"Object {name} added.", None, name))
    for old_name, new_name in sorted(pairs):
        o, n = old[old_name], new[new_name]
        if o.get("physicalName") and n.get("physicalName") and o["physicalName"] != n["physicalName"]:
            changes.append(
                ContractChange(
                    "object_renamed",
                    new_name,
                    True,
                    f"Object {new_name}: physical name {o['physicalName']} → {n['physicalName']}.",
                    o["physicalName"],
                    n["physicalName"],
                )
            )
        if o.get("description") != n.get("description"):
            changes.append(
                ContractChange(
                    "description_changed",
                    new_name,
                    False,
                    f"{new_name}: description changed.",
                    o.get("description"),
                    n.get("description"),
                )
            )
        changes += _properties_changes(new_name, _list(o.get("properties")), _list(n.get("properties")))
        changes += _quality_changes(new_name, _list(o.get("quality")), _list(n.get("quality")))
    return changes


# --- quality ------------------------------------------------------------------------------------


def quality_rule_key(rule: dict, index: int) -> str:
    """How a quality rule is recognised across versions: its ``id``, else ``name``, else its
    metric (or type) and position."""
    for key in ("id", "name"):
        if isinstance(rule.get(key), str) and rule[key]:
            return f"{key}:{rule[key]}"
    return f"{rule.get('metric') or rule.get('rule') or rule.get('type') or 'rule'}#{index}"


def _num(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _threshold_tightened(old: dict, new: dict) -> bool | None:
    """True when ``new`` accepts strictly fewer outcomes than ``old`` on some operator, False
    when no operator got tighter, None when the operators differ and cannot be compared."""
    ops = (
        "mustBe",
        "mustNotBe",
        "mustBeGreaterThan",
        "mustBeGreaterOrEqualTo",
        "mustBeLessThan",
        "mustBeLessOrEqualTo",
        "mustBeBetween",
        "mustNotBeBetween",
    )
    old_ops = {k: old[k] for k in ops if k in old}
    new_ops = {k: new[k] for k in ops if k in new}
    if set(old_ops) != set(new_ops):
        return None if old_ops and new_ops else bool(new_ops and not old_ops)
    for op, before in old_ops.items():
        after = new_ops[op]
        if (
            op in ("mustBeGreaterThan", "mustBeGreaterOrEqualTo")
            and _num(before) is not None
            and _num(after) is not None
        ):
            if after > before:
                return True
        elif op in ("mustBeLessThan", "mustBeLessOrEqualTo") and _num(before) is not None and _num(after) is not None:
            if after < before:
                return True
        elif (
            op == "mustBeBetween"
            and isinstance(before, list)
            and isinstance(after, list)
            and len(before) == len(after) == 2
        ):
            if after[0] > before[0] or after[1] < before[1]:
                return True
        elif (
            op == "mustNotBeBetween"
            and isinstance(before, list)
            and isinstance(after, list)
            and len(before) == len(after) == 2
        ):
            if after[0] < before[0] or after[1] > before[1]:
                return True
        elif before != after and op in ("mustBe", "mustNotBe"):
            return True
    return False


def _quality_changes(parent: str, old_list: list[dict], new_list: list[dict]) -> list[ContractChange]:
    old = {quality_rule_key(r, i): r for i, r in enumerate(old_list)}
    new = {quality_rule_key(r, i): r for i, r in enumerate(new_list)}
    changes: list[ContractChange] = []
    for key in old.keys() - new.keys():
        changes.append(
            ContractChange(
                "quality_rule_removed",
                f"{parent}.quality[{key}]",
                True,
                f"{parent}: quality rule {key} removed.",
                old[key],
                None,
            )
        )
    for key in new.keys() - old.keys():
        changes.append(
            ContractChange(
                "quality_rule_added",
                f"{parent}.quality[{key}]",
                False,
                f"{parent}: quality rule {key} added.",
                None,
                new[key],
            )
        )
    for key in old.keys() & new.keys():
        if old[key] == new[key]:
            continue
        tightened = _threshold_tightened(old[key], new[key])
        same_check = all(old[key].get(k) == new[key].get(k) for k in ("metric", "rule", "query", "arguments", "type"))
        breaking = tightened is not False or not same_check
        kind = "quality_threshold_tightened" if tightened else "quality_rule_changed"
        changes.append(
            ContractChange(
                kind,
                f"{parent}.quality[{key}]",
                breaking,
                f"{parent}: quality rule {key} " + ("tightened." if tightened else "changed."),
                old[key],
                new[key],
            )
        )
    return changes


# --- SLA ----------------------------------------------------------------------------------------

_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "y": 31536000,
    "yr": 31536000,
    "year": 31536000,
    "years": 31536000,
    "ms": 0.001,
}
#: SLA properties where a larger value is a weaker promise (ODCS v3.1 "SLA" examples).
_SLA_LOWER_IS_BETTER = {
    "latency",
    "freshness",
    "frequency",
    "timeofavailability",
    "ttr",
    "timetorecover",
    "responsetime",
    "throughput_latency",
}
#: Where a larger value is a stronger promise.
_SLA_HIGHER_IS_BETTER = {"availability", "uptime", "retention", "generalavailability", "endofsupport", "endoflife"}


def sla_seconds(value, unit) -> float | None:
    """An SLA duration in seconds (``value`` with ``unit`` d/h/m/s/...), None when not a duration."""
    number = _num(value)
    if number is None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
    factor = _UNIT_SECONDS.get(str(unit or "").strip().lower())
    return number * factor if factor is not None else (float(number) if not unit else None)


def _sla_changes(old_doc: dict, new_doc: dict) -> list[ContractChange]:
    def key(p):
        return f"{p.get('property')}" + (f"@{p['element']}" if p.get("element") else "")

    old = {key(p): p for p in _list(old_doc.get("slaProperties")) if p.get("property")}
    new = {key(p): p for p in _list(new_doc.get("slaProperties")) if p.get("property")}
    changes = []
    for k in old.keys() - new.keys():
        changes.append(ContractChange("sla_removed", f"sla.{k}", True, f"SLA {k} no longer promised.", old[k], None))
    for k in new.keys() - old.keys():
        changes.append(ContractChange("sla_added", f"sla.{k}", False, f"SLA {k} added.", None, new[k]))
    for k in old.keys() & new.keys():
        o, n = old[k], new[k]
        if (o.get("value"), o.get("valueExt"), o.get("unit")) == (n.get("value"), n.get("valueExt"), n.get("unit")):
            continue
        prop = str(o.get("property", "")).lower().replace("_", "")
        weakened = None
        so, sn = sla_seconds(o.get("value"), o.get("unit")), sla_seconds(n.get("value"), n.get("unit"))
        if (so is None or sn is None) and o.get("unit") == n.get("unit"):
            so, sn = _num(o.get("value")), _num(n.get("value"))  # same non-time unit (%, rows...): compare as is
        if so is not None and sn is not None:
            if prop in _SLA_LOWER_IS_BETTER:
                weakened = sn > so
            elif prop in _SLA_HIGHER_IS_BETTER:
                weakened = sn < so
        elif isinstance(o.get("value"), str) and isinstance(n.get("value"), str) and prop in _SLA_HIGHER_IS_BETTER:
            weakened = n["value"] < o["value"]  # ISO dates compare as text
        changes.append(
            ContractChange(
                "sla_weakened" if weakened else "sla_changed",
                f"sla.{k}",
                bool(weakened),
                f"SLA {k}: {o.get('value')} {o.get('unit') or ''} → {n.get('value')} {n.get('unit') or ''}".replace(
                    "  ", " "
                ).strip()
                + (" (weaker)." if weakened else "."),
                o.get("value"),
                n.get("value"),
            )
        )
    return changes


_TOP_LEVEL_NON_BREAKING = (
    "name",
    "description",
    "tags",
    "team",
    "support",
    "price",
    "roles",
    "customProperties",
    "authoritativeDefinitions",
    "servers",
    "dataProduct",
    "domain",
    "tenant",
    "status",
)


def contract_diff(old: dict, new: dict) -> list[ContractChange]:
    """Every change from contract document ``old`` to ``new`` (ODCS dicts), schema first, then
    quality, SLA and other top-level sections. Never raises on malformed parts (they are
    compared as they are)."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = _schema_changes(old, new) + _sla_changes(old, new)
    for key in _TOP_LEVEL_NON_BREAKING:
        if old.get(key) != new.get(key):
            changes.append(ContractChange(f"{key}_changed", key, False, f"{key} changed.", old.get(key), new.get(key)))
    return changes


_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def semver_key(version: str) -> tuple[int, int, int] | None:
    """``"2.1.0"`` → ``(2, 1, 0)``; ``"v3"`` → ``(3, 0, 0)``; None when not a version number."""
    match = _SEMVER.match(str(version or "").strip())
    if not match:
        return None
    return tuple(int(g or 0) for g in match.groups())  # type: ignore[return-value]


def is_major_bump(before: str, after: str) -> bool:
    """Whether ``after``'s major number is above ``before``'s (False when either is not semver)."""
    b, a = semver_key(before), semver_key(after)
    return bool(b and a and a[0] > b[0])
