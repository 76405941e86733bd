"""Reading quality rules out of an ODCS document (v3.1 "Data quality"): every rule at every
level (contract, object, property) with a label a business user reads and its expectation in
words. Pure functions; never raise on missing optional keys."""

from __future__ import annotations

from dataclasses import dataclass

from .diff import quality_rule_key

OPERATORS = {
    "mustBe": "must be {}",
    "mustNotBe": "must not be {}",
    "mustBeGreaterThan": "must be greater than {}",
    "mustBeGreaterOrEqualTo": "must be at least {}",
    "mustBeLessThan": "must be less than {}",
    "mustBeLessOrEqualTo": "must be at most {}",
    "mustBeBetween": "must be between {} and {}",
    "mustNotBeBetween": "must not be between {} and {}",
}
METRIC_LABELS = {
    "rowCount": "Number of rows",
    "nullValues": "Null values",
    "missingValues": "Missing values",
    "invalidValues": "Invalid values",
    "duplicateValues": "Duplicate values",
}


@dataclass(frozen=True)
class RuleRef:
    """A quality rule and where it sits: ``object_name`` (schema object), ``property_name``
    (dotted for nested properties), ``key`` stable across versions and runs."""

    rule: dict
    object_name: str
    property_name: str
    key: str

    @property
    def label(self) -> str:
        return rule_label(self.rule, self.property_name)

    @property
    def expectation(self) -> str:
        return rule_expectation(self.rule)

    @property
    def level(self) -> str:
        return "property" if self.property_name else ("object" if self.object_name else "contract")


def rule_label(rule: dict, property_name: str = "") -> str:
    """``name``, else ``description``, else the metric in words (with the column), else ``type``."""
    for key in ("name", "description"):
        if isinstance(rule.get(key), str) and rule[key].strip():
            return rule[key].strip()
    metric = rule.get("metric") or rule.get("rule")
    if metric:
        label = METRIC_LABELS.get(metric, str(metric))
        return f"{label} in {property_name}" if property_name else label
    return str(rule.get("type") or "Quality rule")


def rule_expectation(rule: dict) -> str:
    """The operators in words: ``"must be greater than 10"``; ``""`` when none."""
    parts = []
    for op, text in OPERATORS.items():
        if op not in rule:
            continue
        value = rule[op]
        if op.endswith("Between"):
            value = value if isinstance(value, list) and len(value) == 2 else [value, "?"]
            parts.append(text.format(*value))
        else:
            parts.append(text.format(value))
    unit = rule.get("unit")
    return " and ".join(parts) + (f" ({unit})" if unit and parts else "")


def _walk_properties(object_name: str, properties, prefix: str = ""):
    for prop in properties if isinstance(properties, list) else []:
        if not isinstance(prop, dict):
            continue
        name = f"{prefix}{prop.get('name') or '?'}"
        for index, rule in enumerate(prop.get("quality") or []):
            if isinstance(rule, dict):
                yield RuleRef(rule, object_name, name, f"{object_name}.{name}:{quality_rule_key(rule, index)}")
        yield from _walk_properties(object_name, prop.get("properties"), prefix=f"{name}.")


def contract_rules(document: dict) -> list[RuleRef]:
    """Every quality rule of the document, contract level first, then per object and property."""
    document = document if isinstance(document, dict) else {}
    refs = [
        RuleRef(r, "", "", f":{quality_rule_key(r, i)}")
        for i, r in enumerate(document.get("quality") or [])
        if isinstance(r, dict)
    ]
    for obj in document.get("schema") or []:
        if not isinstance(obj, dict):
            continue
        name = str(obj.get("name") or "?")
        refs += [
            RuleRef(r, name, "", f"{name}:{quality_rule_key(r, i)}")
            for i, r in enumerate(obj.get("quality") or [])
            if isinstance(r, dict)
        ]
        refs += list(_walk_properties(name, obj.get("properties")))
    return refs
