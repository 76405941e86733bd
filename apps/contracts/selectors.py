"""Reads for data contracts: the contract page's sections, version history and diffs, drift
findings, quality results with trends, incidents and the trust summary. The caller has already
fetched the product through ``apps.catalog.selectors`` (visibility checked)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.catalog.models import DataContract, DataProduct

from .diff import contract_diff
from .rules import contract_rules


def _dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value) -> list[str]:
    return [str(v) for v in value if isinstance(v, str | int | float)] if isinstance(value, list) else []


def _date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def _custom(value) -> list[dict]:
    return [
        {"property": str(p.get("property") or ""), "value": p.get("value"), "description": p.get("description") or ""}
        for p in _dicts(value)
        if p.get("property")
    ]


def _definitions(value) -> list[dict]:
    return [
        {
            "type": str(d.get("type") or "definition"),
            "url": str(d.get("url") or ""),
            "description": d.get("description") or "",
        }
        for d in _dicts(value)
        if d.get("url")
    ]


def _relationships(value, origin: str = "") -> list[dict]:
    out = []
    for r in _dicts(value):
        src, to = r.get("from") or origin, r.get("to")
        out.append(
            {
                "type": str(r.get("type") or "foreignKey"),
                "from": ", ".join(map(str, src)) if isinstance(src, list) else str(src or origin),
                "to": ", ".join(map(str, to)) if isinstance(to, list) else str(to or ""),
            }
        )
    return out


def _properties(object_name: str, props, prefix: str = "", depth: int = 0) -> list[dict]:
    rows = []
    for p in _dicts(props):
        name = f"{prefix}{p.get('name') or '?'}"
        rows.append(
            {
                "name": name,
                "depth": depth,
                "business_name": p.get("businessName") or "",
                "logical_type": p.get("logicalType") or "",
                "physical_type": p.get("physicalType") or "",
                "physical_name": p.get("physicalName") or "",
                "required": bool(p.get("required")),
                "primary_key": bool(p.get("primaryKey")),
                "unique": bool(p.get("unique")),
                "classification": p.get("classification") or "",
                "critical": bool(p.get("criticalDataElement")),
                "description": p.get("description") or "",
                "examples": _strings(p.get("examples"))[:5],
                "tags": _strings(p.get("tags")),
                "custom": _custom(p.get("customProperties")),
                "definitions": _definitions(p.get("authoritativeDefinitions")),
                "relationships": _relationships(p.get("relationships"), origin=f"{object_name}.{name}"),
            }
        )
        rows += _properties(object_name, p.get("properties"), prefix=f"{name}.", depth=depth + 1)
    return rows


def contract_sections(*, contract: DataContract, today: dt.date | None = None) -> dict:
    """The ODCS v3.1 document as sections a business user reads (Fundamentals, Schema, Data
    quality, SLA, Team, Roles, Support, Pricing, Servers, custom properties...). Shape::

        {"fundamentals": [(label, value)], "description": {"purpose"|"usage"|"limitations": str},
         "objects": [{"name", "business_name", "physical_name", "physical_type", "description",
                      "properties": [row], "relationships": [..], "tags", "custom", "definitions"}],
         "quality": [{"label", "expectation", "level", "object", "property", "dimension", "severity",
                      "type", "query", "description"}],
         "sla": [{"property", "value", "unit", "element", "description"}], "sla_default_element": str,
         "team": {"name", "description", "members": [{"name", "role", "date_in", "date_out", "current"}]},
         "roles": [{"role", "access", "description", "first_level", "second_level"}],
         "support": [...], "price": {...}|None, "servers": [...], "tags": [...], "custom": [...],
         "definitions": [...], "relationships": [...]}

    Every key is optional in the document; missing or malformed parts give empty sections,
    never an error. ``current`` is False for members whose ``dateOut`` is before ``today``."""
    doc = contract.document if isinstance(contract.document, dict) else {}
    today = today or timezone.localdate()
    description = doc.get("description") if isinstance(doc.get("description"), dict) else {}
    fundamentals = [
        (label, doc.get(key))
        for key, label in [
            ("name", "Name"),
            ("version", "Version"),
            ("status", "Status"),
            ("domain", "Domain"),
            ("dataProduct", "Data product"),
            ("tenant", "Tenant"),
            ("id", "Contract id"),
            ("apiVersion", "ODCS version"),
            ("contractCreatedTs", "Created"),
        ]
        if doc.get(key) not in (None, "")
    ]
    objects = []
    for o in _dicts(doc.get("schema")):
        name = str(o.get("name") or "?")
        objects.append(
            {
                "name": name,
                "business_name": o.get("businessName") or "",
                "physical_name": o.get("physicalName") or "",
                "physical_type": o.get("physicalType") or "",
                "description": o.get("description") or "",
                "granularity": o.get("dataGranularityDescription") or "",
                "properties": _properties(name, o.get("properties")),
                "tags": _strings(o.get("tags")),
                "custom": _custom(o.get("customProperties")),
                "definitions": _definitions(o.get("authoritativeDefinitions")),
                "relationships": _relationships(o.get("relationships"), origin=name),
            }
        )
    quality = [
        {
            "label": ref.label,
            "expectation": ref.expectation,
            "level": ref.level,
            "object": ref.object_name,
            "property": ref.property_name,
            "key": ref.key,
            "dimension": str(ref.rule.get("dimension") or ""),
            "severity": str(ref.rule.get("severity") or ""),
            "type": str(ref.rule.get("type") or "library"),
            "query": str(ref.rule.get("query") or ""),
            "description": str(ref.rule.get("description") or ""),
            "schedule": str(ref.rule.get("schedule") or ""),
        }
        for ref in contract_rules(doc)
    ]
    team = doc.get("team")
    members_raw = _dicts(team.get("members")) if isinstance(team, dict) else _dicts(team)
    members = []
    for m in members_raw:
        date_out = _date(m.get("dateOut"))
        members.append(
            {
                "name": str(m.get("name") or m.get("username") or "?"),
                "username": str(m.get("username") or ""),
                "role": str(m.get("role") or ""),
                "date_in": str(m.get("dateIn") or ""),
                "date_out": str(m.get("dateOut") or ""),
                "current": date_out is None or date_out >= today,
                "replaced_by": str(m.get("replacedByUsername") or ""),
            }
        )
    members.sort(key=lambda m: (not m["current"], m["role"], m["name"]))
    price = doc.get("price") if isinstance(doc.get("price"), dict) else None
    return {
        "fundamentals": fundamentals,
        "description": {k: str(description.get(k)) for k in ("purpose", "usage", "limitations") if description.get(k)},
        "description_custom": _custom(description.get("customProperties")),
        "description_definitions": _definitions(description.get("authoritativeDefinitions")),
        "objects": objects,
        "quality": quality,
        "sla": [
            {
                "property": str(s.get("property") or ""),
                "value": s.get("value", ""),
                "value_ext": s.get("valueExt", ""),
                "unit": str(s.get("unit") or ""),
                "element": str(s.get("element") or ""),
                "description": str(s.get("description") or ""),
                "driver": str(s.get("driver") or ""),
            }
            for s in _dicts(doc.get("slaProperties"))
        ],
        "sla_default_element": str(doc.get("slaDefaultElement") or ""),
        "team": {
            "name": str(team.get("name") or "") if isinstance(team, dict) else "",
            "description": str(team.get("description") or "") if isinstance(team, dict) else "",
            "members": members,
        },
        "roles": [
            {
                "role": str(r.get("role") or ""),
                "access": str(r.get("access") or ""),
                "description": str(r.get("description") or ""),
                "first_level": str(r.get("firstLevelApprovers") or ""),
                "second_level": str(r.get("secondLevelApprovers") or ""),
            }
            for r in _dicts(doc.get("roles"))
        ],
        "support": [
            {
                "channel": str(s.get("channel") or ""),
                "tool": str(s.get("tool") or ""),
                "url": str(s.get("url") or ""),
                "scope": str(s.get("scope") or ""),
                "description": str(s.get("description") or ""),
            }
            for s in _dicts(doc.get("support"))
        ],
        "price": {
            "amount": price.get("priceAmount"),
            "currency": price.get("priceCurrency") or "",
            "unit": price.get("priceUnit") or "",
        }
        if price
        else None,
        "servers": [
            {
                "server": str(s.get("server") or ""),
                "type": str(s.get("type") or ""),
                "environment": str(s.get("environment") or ""),
                "host": str(s.get("host") or ""),
                "port": s.get("port") or "",
                "database": str(s.get("database") or ""),
                "schema": str(s.get("schema") or ""),
                "description": str(s.get("description") or ""),
            }
            for s in _dicts(doc.get("servers"))
        ],
        "tags": _strings(doc.get("tags")),
        "custom": _custom(doc.get("customProperties")),
        "definitions": _definitions(doc.get("authoritativeDefinitions")),
        "relationships": [r for o in objects for r in o["relationships"]]
        + [r for o in objects for p in o["properties"] for r in p["relationships"]],
    }


def contract_versions(*, product: DataProduct) -> list[DataContract]:
    """Every version of the product's contract, newest first, with its import records."""
    return list(
        DataContract.objects.filter(data_product=product)
        .prefetch_related("imports__actor")
        .order_by("-created_at", "-pk")
    )


def contract_version_diff(*, product: DataProduct, from_id, to_id) -> dict | None:
    """The diff between two versions of the product's contract (ids from the request; other
    products' versions are ignored): ``{"from", "to", "changes": [ContractChange], "breaking": int}``,
    None when either id is not a version of this product."""
    try:
        ids = [int(from_id), int(to_id)]
    except (TypeError, ValueError):
        return None
    versions = {c.pk: c for c in DataContract.objects.filter(data_product=product, pk__in=ids)}
    if len(versions) != len(set(ids)) or ids[0] == ids[1]:
        return None
    old, new = versions[ids[0]], versions[ids[1]]
    changes = contract_diff(old.document, new.document)
    return {"from": old, "to": new, "changes": changes, "breaking": sum(c.breaking for c in changes)}


# --- drift ----------------------------------------------------------------------------------------


def drift_findings_for_product(*, product: DataProduct):
    """Open and accepted drift findings of a product (resolved ones left out), accepted last."""
    from .models import DriftFinding

    return (
        DriftFinding.objects.filter(data_product=product)
        .exclude(status="resolved")
        .select_related("accepted_by")
        .order_by("status", "object_name", "property_name", "kind")
    )


def drift_findings_for_platform(*, platform, user):
    """Open drift findings on ``platform`` for the products ``user`` may see, with their product."""
    from apps.catalog.selectors import data_product_visible

    from .models import DriftFinding

    return (
        DriftFinding.objects.filter(
            platform=platform, status="open", data_product__in=data_product_visible(user=user).values("pk")
        )
        .select_related("data_product")
        .order_by("data_product__name", "object_name", "property_name")
    )


def drift_kpi(*, user) -> dict:
    """For KPIs: ``{"products_with_contract", "products_with_drift", "open_findings",
    "accepted_findings"}`` over the data products ``user`` may see."""
    from django.db.models import Count, Q

    from apps.catalog.selectors import data_product_visible

    from .models import DriftFinding

    visible = data_product_visible(user=user).values("pk")
    counts = DriftFinding.objects.filter(data_product__in=visible).aggregate(
        open=Count("pk", filter=Q(status="open")),
        accepted=Count("pk", filter=Q(status="accepted")),
        products=Count("data_product", filter=Q(status="open"), distinct=True),
    )
    with_contract = DataContract.objects.filter(data_product__in=visible).values("data_product").distinct().count()
    return {
        "products_with_contract": with_contract,
        "products_with_drift": counts["products"],
        "open_findings": counts["open"],
        "accepted_findings": counts["accepted"],
    }


# --- quality, incidents, trust ----------------------------------------------------------------------

TREND_LENGTH = 10


def quality_latest(*, product: DataProduct) -> list[dict]:
    """Each rule's latest result with its trend (oldest → newest, up to ``TREND_LENGTH``
    results): ``[{"result": QualityResult, "trend": [QualityResult]}]``, failing and erroring
    rules first. Rules whose latest result is from a run of the current contract version are
    shown (rules run on their own schedules, so one run need not hold them all); a trend may
    reach back into earlier versions (a rule keeps its key across versions). One query."""
    from django.db.models import Case, F, IntegerField, Subquery, Value, When, Window
    from django.db.models.functions import RowNumber

    from .models import QualityResult

    # The current version (newest active, else newest), as a sub-select: one query in all.
    current = (
        DataContract.objects.filter(data_product=product)
        .order_by(
            Case(When(status="active", then=Value(0)), default=Value(1), output_field=IntegerField()),
            "-created_at",
            "-pk",
        )
        .values("pk")[:1]
    )
    recent = (
        QualityResult.objects.filter(data_product=product)
        .annotate(
            contract_id=F("run__data_contract_id"),
            current_id=Subquery(current),
            n=Window(RowNumber(), partition_by=[F("rule_key")], order_by=[F("executed_at").desc(), F("pk").desc()]),
        )
        .filter(n__lte=TREND_LENGTH)
        .order_by("rule_key", "executed_at", "pk")
    )
    by_rule: dict[str, list] = {}
    for result in recent:
        by_rule.setdefault(result.rule_key, []).append(result)
    rows = [
        {"result": trend[-1], "trend": trend}
        for trend in by_rule.values()
        if trend[-1].contract_id == trend[-1].current_id
    ]
    order = {"fail": 0, "error": 1, "pass": 2}
    return sorted(rows, key=lambda r: (order.get(r["result"].status, 3), r["result"].object_name, r["result"].name))


def incidents_for_product(*, product: DataProduct, include_resolved: bool = False):
    """Incidents of a product, open first, newest first; shown to everyone who sees the product."""
    from .models import Incident

    qs = Incident.objects.filter(data_product=product).select_related("acknowledged_by", "resolved_by")
    if not include_resolved:
        qs = qs.exclude(status="resolved")
    return qs.order_by("status", "-opened_at")


def trust_level(
    *, contract_valid: bool, drift_open: int, quality: dict | None, freshness: str | None, open_incidents: int
) -> str:
    """``"good"``, ``"warning"`` or ``"poor"`` for a product with a contract: good when the contract is
    valid (current, not deprecated or retired), no drift is open, every rule of the latest quality run
    passed and no incident is open; poor when an incident is open or a freshness/latency SLA is
    breached; otherwise warning (also: rules not run yet). The product page says the same in words
    (``templates/contracts/_trust.html``)."""
    all_passed = bool(quality and quality["total"] and quality["passed"] == quality["total"])
    if open_incidents or freshness == "breached":
        return "poor"
    if contract_valid and not drift_open and all_passed:
        return "good"
    return "warning"


def current_contracts(*, product_ids: list[int] | None = None, with_document: bool = False) -> dict[int, DataContract]:
    """Each product's current contract (the newest ``active`` version, else the newest: as
    ``catalog.selectors.data_product_contract``), in one query: ``{product_id: DataContract}``
    (``None``: every product with a contract; ``document`` loaded only ``with_document``)."""
    fields = ["id", "data_product_id", "version", "status", "created_at"] + (["document"] if with_document else [])
    contracts = DataContract.objects.only(*fields).order_by("data_product_id", "-created_at", "-pk")
    if product_ids is not None:
        contracts = contracts.filter(data_product_id__in=product_ids)
    current: dict[int, DataContract] = {}
    for contract in contracts:
        chosen = current.get(contract.data_product_id)
        if chosen is None or (chosen.status != "active" and contract.status == "active"):
            current[contract.data_product_id] = contract
    return current


def trust_summaries(*, product_ids: list[int] | None = None) -> dict[int, dict]:
    """:func:`trust_summary` of many products in five queries (``None``: every product with a
    contract). Products without a contract are left out (their level is ``"none"``). Quality
    counts each rule's latest result in runs of the current contract version (rules may run on
    their own schedules, so one run need not hold every rule)."""
    from django.db.models import Count

    from .models import DriftFinding, Incident, QualityResult

    current = current_contracts(product_ids=product_ids)
    if not current:
        return {}
    ids = list(current)
    results: dict[int, list[tuple[str, str]]] = {}
    for product_id, metric, status in (
        QualityResult.objects.filter(run__data_contract_id__in=[c.pk for c in current.values()])
        .order_by("data_product_id", "rule_key", "-executed_at", "-pk")
        .distinct("data_product_id", "rule_key")
        .values_list("data_product_id", "metric", "status")
    ):
        results.setdefault(product_id, []).append((metric, status))
    drift = dict(
        DriftFinding.objects.filter(data_product_id__in=ids, status="open")
        .values("data_product_id")
        .annotate(n=Count("pk"))
        .values_list("data_product_id", "n")
    )
    open_incidents = dict(
        Incident.objects.filter(data_product_id__in=ids)
        .exclude(status="resolved")
        .values("data_product_id")
        .annotate(n=Count("pk"))
        .values_list("data_product_id", "n")
    )
    last_incident = {
        i.data_product_id: i
        for i in Incident.objects.filter(data_product_id__in=ids)
        .order_by("data_product_id", "-opened_at", "-pk")
        .distinct("data_product_id")
    }
    summaries = {}
    for product_id, contract in current.items():
        quality = freshness = None
        if product_id in results:
            rows = results[product_id]
            passed = sum(status == "pass" for _, status in rows)
            quality = {"passed": passed, "total": len(rows), "rate": round(100 * passed / len(rows)) if rows else None}
            sla = [status for metric, status in rows if metric in ("freshness", "latency")]
            freshness = (
                None
                if not sla
                else (
                    "met"
                    if all(s == "pass" for s in sla)
                    else "breached"
                    if any(s == "fail" for s in sla)
                    else "unknown"
                )
            )
        valid = contract.status not in ("deprecated", "retired")
        summary = {
            "contract": {"version": contract.version, "status": contract.get_status_display()},
            "contract_valid": valid,
            "drift_open": drift.get(product_id, 0),
            "quality": quality,
            "freshness": freshness,
            "last_incident": last_incident.get(product_id),
            "open_incidents": open_incidents.get(product_id, 0),
        }
        summary["level"] = trust_level(
            contract_valid=valid,
            drift_open=summary["drift_open"],
            quality=quality,
            freshness=freshness,
            open_incidents=summary["open_incidents"],
        )
        summaries[product_id] = summary
    return summaries


def trust_summary(*, product: DataProduct) -> dict:
    """What a consumer should know before relying on the product, and how it is computed::

        {"contract": {"version", "status"} | None, "contract_valid": bool,
         "drift_open": int, "quality": {"passed", "total", "rate"} | None,
         "freshness": "met" | "breached" | "unknown" | None, "last_incident": Incident | None,
         "open_incidents": int, "level": "good" | "warning" | "poor" | "none"}

    ``contract_valid``: a current contract exists (it was validated against the ODCS JSON
    Schema when imported) and is not deprecated/retired. ``quality.rate``: share of the rules
    whose latest result (in runs of the current version) passed (errors count as not passed).
    ``freshness``: latest freshness/latency SLA results. ``level`` (:func:`trust_level`): good when valid, no open drift, every rule
    passed and no open incident; poor when an incident is open or an SLA breached; else warning."""
    return trust_summaries(product_ids=[product.pk]).get(product.pk) or {"contract": None, "level": "none"}


def trust_card(summary: dict | None) -> dict:
    """A trust summary as JSON-safe data for the search document and the product card::

    {"level": "good"|"warning"|"poor"|"none", "version": str, "valid": bool, "drift": int,
     "rate": int|None, "passed": int, "total": int, "freshness": str|None,
     "incident": {"title", "status", "opened": "YYYY-MM-DD"}|None, "open_incidents": int}"""
    if not summary or summary.get("contract") is None:
        return {"level": "none"}
    quality = summary["quality"] or {}
    incident = summary["last_incident"]
    return {
        "level": summary["level"],
        "version": summary["contract"]["version"],
        "valid": summary["contract_valid"],
        "drift": summary["drift_open"],
        "rate": quality.get("rate"),
        "passed": quality.get("passed", 0),
        "total": quality.get("total", 0),
        "freshness": summary["freshness"],
        "open_incidents": summary["open_incidents"],
        "incident": {
            "title": incident.title,
            "status": incident.get_status_display().lower(),
            "opened": incident.opened_at.date().isoformat(),
        }
        if incident
        else None,
    }
