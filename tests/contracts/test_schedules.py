"""Quality rules on their own schedules: the rule's cron, else the contract's ``qualitySchedule``,
else the product's default, else the portal's interval; the beat runs only the rules due."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
import yaml
from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.catalog.models import DataContract
from apps.contracts import tasks
from apps.contracts.models import ProductQualitySchedule, QualityResult, QualityRun
from apps.contracts.schedules import Schedule, parse_cron, rule_schedule, schedule_problems
from apps.contracts.services import (
    contract_quality_due,
    contract_quality_run,
    data_contract_publish,
    quality_schedule_set,
)
from apps.core.exceptions import ApplicationError

HOUR = timedelta(hours=1)
NOW = dt.datetime(2026, 3, 14, 12, 30, tzinfo=dt.UTC)
DAILY, HOURLY, WEEKLY = "0 6 * * *", "0 * * * *", "0 6 * * 1"


def document(contract_schedule: str = "") -> dict:
    doc = {
        "schema": [
            {
                "name": "employee",
                "quality": [
                    {
                        "name": "own",
                        "metric": "rowCount",
                        "mustBeGreaterThan": 0,
                        "scheduler": "cron",
                        "schedule": DAILY,
                    },
                    {"name": "inherits", "metric": "rowCount", "mustBeGreaterThan": 0},
                    {"name": "described", "type": "text", "description": "Checked by hand."},
                ],
            }
        ],
        "slaProperties": [
            {"property": "latency", "value": 1, "unit": "d", "element": "employee.modifieddate", "schedule": WEEKLY}
        ],
    }
    if contract_schedule:
        doc["customProperties"] = [{"property": "qualitySchedule", "value": contract_schedule}]
    return doc


@pytest.mark.parametrize(
    "contract_cron,product_cron,expected",
    [
        ("", "", ("", "default")),
        ("", HOURLY, (HOURLY, "product")),
        ("*/15 * * * *", HOURLY, ("*/15 * * * *", "contract")),
        ("not a cron", HOURLY, (HOURLY, "product")),  # unreadable: the next level applies
    ],
)
def test_the_first_schedule_set_wins(contract_cron, product_cron, expected):
    doc = document(contract_cron)
    own, inherits = doc["schema"][0]["quality"][:2]
    assert rule_schedule(own, document=doc, product_default=product_cron, interval=HOUR).source == "rule"
    schedule = rule_schedule(inherits, document=doc, product_default=product_cron, interval=HOUR)
    assert (schedule.cron, schedule.source) == expected


def test_due_follows_cron_or_the_interval():
    daily = Schedule(cron=DAILY, source="rule", interval=HOUR)
    assert daily.is_due(last_run_at=None, now=NOW)
    assert not daily.is_due(last_run_at=NOW.replace(hour=6, minute=1), now=NOW)  # ran after today's 06:00
    assert daily.is_due(last_run_at=NOW - timedelta(days=1), now=NOW)  # today's 06:00 passed since
    every_hour = Schedule(cron="", source="default", interval=HOUR)
    assert not every_hour.is_due(last_run_at=NOW - timedelta(minutes=59), now=NOW)
    assert every_hour.is_due(last_run_at=NOW - HOUR, now=NOW)
    assert daily.label == "cron 0 6 * * * (rule)" and every_hour.label == "every 60 minutes (default)"


def test_schedules_the_portal_cannot_follow_are_reported():
    doc = document("61 * * * *")
    doc["schema"][0]["quality"][1].update(scheduler="airflow", schedule="daily_dag")
    doc["slaProperties"][0]["schedule"] = "0 6 * *"
    problems = schedule_problems(doc)
    assert len(problems) == 3
    assert "qualitySchedule" in problems[0] and "airflow" in problems[1] and "slaProperties[0]" in problems[2]
    with pytest.raises(ValueError, match="five fields"):
        parse_cron("@daily")


@pytest.mark.django_db
def test_the_beat_runs_only_the_rules_due(hr, monkeypatch):
    # given: the product's contract and the results of a full run an hour and a half ago
    contract = DataContract.objects.create(
        data_product=hr.product, contract_id="x", version="1.0.0", status="active", document=document()
    )
    assert contract_quality_due(now=NOW) == {hr.product.pk: None}  # never ran: every rule
    run = QualityRun.objects.create(data_contract=contract, data_product=hr.product)
    for key in ("employee:name:own", "employee:name:inherits", "sla:latency@employee.modifieddate"):
        result = QualityResult.objects.create(run=run, data_product=hr.product, rule_key=key, name=key, status="pass")
        QualityResult.objects.filter(pk=result.pk).update(executed_at=NOW - timedelta(minutes=90))
    # when / then: the rule without a schedule is due after the interval; the daily rule
    # (06:00 passed before its last result) and the weekly SLA are not
    assert contract_quality_due(now=NOW) == {hr.product.pk: ["employee:name:inherits"]}
    # the product's default applies to rules without their own schedule
    ProductQualitySchedule.objects.create(data_product=hr.product, schedule="0 18 * * *")
    assert contract_quality_due(now=NOW) == {}
    assert contract_quality_due(now=NOW.replace(hour=18, minute=5)) == {hr.product.pk: ["employee:name:inherits"]}
    # and the beat hands the keys to the worker
    sent = []
    monkeypatch.setattr(tasks.contract_quality_run_task, "delay", lambda *args: sent.append(args))
    monkeypatch.setattr("apps.contracts.services.timezone.now", lambda: NOW + timedelta(days=7))
    assert tasks.contract_quality_due_task() == 1
    assert sent == [(hr.product.pk, None)]  # a week later everything is due again (the weekly SLA too)


@pytest.mark.django_db
def test_a_run_of_some_rules_keeps_the_others_latest_results(hr, pg_jaffle_platform):
    # given: a contract on a real PostgreSQL schema, run once in full
    hr.port.platform, hr.port.schema = pg_jaffle_platform.platform, pg_jaffle_platform.name
    hr.port.save()
    data_contract_publish(
        actor=hr.owner,
        contract=yaml.safe_dump(
            {
                "apiVersion": "v3.1.0",
                "kind": "DataContract",
                "id": "sched",
                "version": "1.0.0",
                "status": "active",
                "schema": [
                    {
                        "name": "t",
                        "physicalName": "t",
                        "quality": [
                            {"name": "rows", "metric": "rowCount", "mustBe": 3},
                            {
                                "name": "nightly",
                                "metric": "rowCount",
                                "mustBe": 3,
                                "scheduler": "cron",
                                "schedule": "0 2 * * *",
                            },
                        ],
                    }
                ],
            }
        ),
        data_product="employees",
    )
    assert contract_quality_run(product_id=hr.product.pk).passed == 2
    # when: only the rule due runs
    run = contract_quality_run(product_id=hr.product.pk, rule_keys=["t:name:rows"])
    # then: one result in that run, and the quality tab and trust still show both rules
    assert list(run.results.values_list("rule_key", flat=True)) == ["t:name:rows"]
    from apps.contracts.selectors import quality_latest, trust_summary

    latest = quality_latest(product=hr.product)
    assert sorted((r["result"].name, len(r["trend"])) for r in latest) == [("nightly", 1), ("rows", 2)]
    assert trust_summary(product=hr.product)["quality"] == {"passed": 2, "total": 2, "rate": 100}
    assert contract_quality_run(product_id=hr.product.pk, rule_keys=["no:such:rule"]) is None


@pytest.fixture
def pg_jaffle_platform(make_scratch_schema):
    ns = make_scratch_schema("mpt_sched")
    ns.sql(f"CREATE TABLE {ns.ident}.t AS SELECT generate_series(1, 3) AS id")
    return ns


@pytest.mark.django_db
def test_owners_set_the_product_default(hr):
    with pytest.raises(PermissionDenied):
        quality_schedule_set(product=hr.product, actor=hr.unrelated, schedule=HOURLY)
    with pytest.raises(ApplicationError) as refused:
        quality_schedule_set(product=hr.product, actor=hr.owner, schedule="every hour")
    assert "schedule" in refused.value.extra
    row = quality_schedule_set(product=hr.product, actor=hr.owner, schedule="  0   *  * * * ")
    assert row.schedule == HOURLY and row.updated_by == hr.owner
    assert quality_schedule_set(product=hr.product, actor=hr.owner, schedule="") is None
    assert not ProductQualitySchedule.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__startswith="quality_schedule").values_list("action", flat=True).order_by("pk")
    ) == ["quality_schedule.set", "quality_schedule.removed"]
