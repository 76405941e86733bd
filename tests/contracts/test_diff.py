"""The breaking-change classifier, change by change (pure: no database)."""

from __future__ import annotations

import copy

import pytest

from apps.contracts.diff import contract_diff, is_major_bump, physical_type_change

BASE = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "c",
    "version": "1.0.0",
    "status": "active",
    "schema": [
        {
            "name": "orders",
            "physicalName": "orders",
            "description": "Orders.",
            "properties": [
                {
                    "name": "id",
                    "id": "p-id",
                    "logicalType": "integer",
                    "physicalType": "integer",
                    "required": True,
                    "primaryKey": True,
                    "primaryKeyPosition": 1,
                    "unique": True,
                },
                {"name": "amount", "id": "p-amount", "logicalType": "number", "physicalType": "numeric(10,2)"},
                {
                    "name": "note",
                    "logicalType": "string",
                    "physicalType": "varchar(100)",
                    "description": "Free text.",
                    "quality": [{"name": "few nulls", "metric": "nullValues", "mustBeLessThan": 10}],
                },
            ],
            "quality": [
                {"metric": "rowCount", "mustBeGreaterThan": 100},
                {"metric": "duplicateValues", "arguments": {"properties": ["id"]}, "mustBeBetween": [0, 5]},
            ],
        }
    ],
    "slaProperties": [
        {"property": "latency", "value": 4, "unit": "h", "element": "orders.id"},
        {"property": "availability", "value": 99.5, "unit": "%"},
    ],
}


def change(mutate) -> list:
    new = copy.deepcopy(BASE)
    mutate(new)
    return [(c.kind, c.breaking) for c in contract_diff(BASE, new)]


def props(doc):
    return doc["schema"][0]["properties"]


def test_identical_versions_have_no_changes():
    assert contract_diff(BASE, copy.deepcopy(BASE)) == []


@pytest.mark.parametrize(
    "mutate,expected",
    [
        # objects
        (lambda d: d["schema"].pop(), ("object_removed", True)),
        (
            lambda d: d["schema"][0].update(name="purchase_orders", id=None) or d["schema"][0].pop("id"),
            ("object_removed", True),
        ),
        (lambda d: d["schema"][0].update(physicalName="orders_v2"), ("object_renamed", True)),
        (lambda d: d["schema"].append({"name": "customers"}), ("object_added", False)),
        # properties
        (lambda d: props(d).pop(1), ("property_removed", True)),
        (lambda d: props(d)[1].update(name="total"), ("property_renamed", True)),
        (lambda d: props(d).append({"name": "extra", "logicalType": "string"}), ("property_added", False)),
        (
            lambda d: props(d).append({"name": "extra", "logicalType": "string", "required": True}),
            ("required_property_added", True),
        ),
        # types
        (lambda d: props(d)[1].update(logicalType="string"), ("logical_type_changed", True)),
        (lambda d: props(d)[2].update(physicalType="varchar(50)"), ("type_changed", True)),
        (lambda d: props(d)[2].update(physicalType="varchar(200)"), ("type_widened", False)),
        (lambda d: props(d)[2].update(physicalType="integer"), ("type_changed", True)),
        (lambda d: props(d)[0].update(physicalType="bigint"), ("type_widened", False)),
        (lambda d: props(d)[1].update(physicalType="numeric(8,2)"), ("type_changed", True)),
        (lambda d: props(d)[1].update(physicalType="numeric(12,2)"), ("type_widened", False)),
        # required, keys
        (lambda d: props(d)[1].update(required=True), ("required_added", True)),
        (lambda d: props(d)[0].update(required=False), ("required_removed", False)),
        (lambda d: props(d)[0].update(primaryKey=False), ("primary_key_changed", True)),
        (lambda d: props(d)[1].update(primaryKey=True, primaryKeyPosition=2), ("primary_key_changed", True)),
        (lambda d: props(d)[0].update(unique=False), ("unique_removed", True)),
        # descriptions and other metadata
        (lambda d: props(d)[2].update(description="Notes."), ("description_changed", False)),
        (lambda d: d["schema"][0].update(description="All orders."), ("description_changed", False)),
        (lambda d: d.update(tags=["sales"]), ("tags_changed", False)),
        # quality
        (lambda d: d["schema"][0]["quality"][0].update(mustBeGreaterThan=1000), ("quality_threshold_tightened", True)),
        (lambda d: d["schema"][0]["quality"][0].update(mustBeGreaterThan=10), ("quality_rule_changed", False)),
        (lambda d: d["schema"][0]["quality"][1].update(mustBeBetween=[0, 2]), ("quality_threshold_tightened", True)),
        (lambda d: d["schema"][0]["quality"][1].update(mustBeBetween=[0, 9]), ("quality_rule_changed", False)),
        (lambda d: props(d)[2]["quality"][0].update(mustBeLessThan=1), ("quality_threshold_tightened", True)),
        (lambda d: props(d)[2]["quality"][0].update(mustBeLessThan=50), ("quality_rule_changed", False)),
        (lambda d: d["schema"][0]["quality"].pop(0), ("quality_rule_removed", True)),
        (
            lambda d: d["schema"][0]["quality"].append({"name": "fresh", "metric": "rowCount", "mustBe": 5}),
            ("quality_rule_added", False),
        ),
        # SLA
        (lambda d: d["slaProperties"][0].update(value=8), ("sla_weakened", True)),
        (lambda d: d["slaProperties"][0].update(value=1, unit="d"), ("sla_weakened", True)),
        (lambda d: d["slaProperties"][0].update(value=30, unit="m"), ("sla_changed", False)),
        (lambda d: d["slaProperties"][1].update(value=99.0), ("sla_weakened", True)),
        (lambda d: d["slaProperties"][1].update(value=99.9), ("sla_changed", False)),
        (lambda d: d["slaProperties"].pop(1), ("sla_removed", True)),
        (lambda d: d["slaProperties"].append({"property": "retention", "value": 1, "unit": "y"}), ("sla_added", False)),
    ],
)
def test_each_change_is_classified(mutate, expected):
    assert expected in change(mutate)


def test_a_rename_by_id_is_one_rename_not_a_removal_and_an_addition():
    kinds = change(lambda d: props(d)[1].update(name="total"))
    assert kinds == [("property_renamed", True)]


@pytest.mark.parametrize(
    "before,after,how",
    [
        ("varchar(50)", "character varying(50)", "same"),
        ("varchar(50)", "text", "widened"),
        ("smallint", "integer", "widened"),
        ("bigint", "integer", "changed"),
        ("date", "timestamp", "changed"),
        ("real", "double precision", "widened"),
        ("numeric(10,2)", "numeric(10,4)", "changed"),
    ],
)
def test_physical_type_changes(before, after, how):
    assert physical_type_change(before, after) == how


@pytest.mark.parametrize(
    "before,after,major",
    [("1.2.3", "2.0.0", True), ("1.2.3", "1.3.0", False), ("v1", "v2", True), ("x", "2.0.0", False)],
)
def test_major_bump(before, after, major):
    assert is_major_bump(before, after) is major
