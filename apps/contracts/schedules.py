"""When each quality rule runs: per rule, per contract, per product, else every
``CONTRACT_QUALITY_INTERVAL_MINUTES``.

The first that is set wins:

1. the rule's own ODCS ``schedule`` (with ``scheduler: cron`` or no scheduler), e.g.
   ``schedule: "0 6 * * *"``; for a freshness/latency SLA, the SLA property's ``schedule``;
2. the contract's custom property ``qualitySchedule`` (``customProperties: [{property:
   qualitySchedule, value: "0 * * * *"}]``), for every rule of the contract;
3. the product's default (``ProductQualitySchedule``, set by its owners);
4. the portal's interval, ``CONTRACT_QUALITY_INTERVAL_MINUTES`` after the rule's last result.

Cron expressions have five fields (minute hour day-of-month month day-of-week) and are read in
``CELERY_TIMEZONE`` by Celery's own ``crontab`` (the beat's scheduler), so what the portal calls
due is what Celery would. A rule whose scheduler is not cron, or whose expression cannot be read,
falls back to the next level (the reason is listed by :func:`schedule_problems`). Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.schedules import crontab

CONTRACT_SCHEDULE_PROPERTY = "qualitySchedule"


def parse_cron(expression: str) -> crontab:
    """``"0 6 * * 1-5"`` → a Celery ``crontab``. Raises ``ValueError`` with the reason when the
    expression is not five valid cron fields."""
    text = " ".join(str(expression or "").split())
    if len(text.split(" ")) != 5:
        raise ValueError(f"{expression!r} is not a cron expression of five fields (minute hour day month weekday).")
    try:
        return crontab.from_string(text)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{expression!r} is not a valid cron expression: {exc}") from None


def cron_is_valid(expression: str) -> bool:
    try:
        parse_cron(expression)
    except ValueError:
        return False
    return True


def _own_cron(item: dict) -> str:
    """A rule's (or SLA property's) cron schedule, "" when it has none or another scheduler."""
    schedule = str(item.get("schedule") or "").strip()
    scheduler = str(item.get("scheduler") or "cron").strip().lower()
    return schedule if schedule and scheduler == "cron" and cron_is_valid(schedule) else ""


def contract_schedule(document: dict) -> str:
    """The contract-wide cron schedule (custom property ``qualitySchedule``), "" when unset or unreadable."""
    for prop in document.get("customProperties") or [] if isinstance(document, dict) else []:
        if isinstance(prop, dict) and prop.get("property") == CONTRACT_SCHEDULE_PROPERTY:
            value = str(prop.get("value") or "").strip()
            return value if cron_is_valid(value) else ""
    return ""


@dataclass(frozen=True)
class Schedule:
    """A rule's effective schedule: ``cron`` ("" = every ``interval``) and where it comes from
    (``"rule"``, ``"contract"``, ``"product"`` or ``"default"``)."""

    cron: str
    source: str
    interval: timedelta

    @property
    def label(self) -> str:
        if self.cron:
            return f"cron {self.cron} ({self.source})"
        minutes = int(self.interval.total_seconds() // 60)
        return f"every {minutes} minutes (default)"

    def is_due(self, *, last_run_at: datetime | None, now: datetime) -> bool:
        """Whether a rule last measured at ``last_run_at`` (aware) should run at ``now`` (aware)."""
        if last_run_at is None:
            return True
        if not self.cron:
            return now - last_run_at >= self.interval
        schedule = parse_cron(self.cron)
        schedule.nowfun = lambda: now
        return schedule.remaining_estimate(last_run_at).total_seconds() <= 0


def rule_schedule(rule: dict, *, document: dict, product_default: str = "", interval: timedelta) -> Schedule:
    """The effective schedule of one quality rule (or SLA property) of ``document``."""
    for cron, source in (
        (_own_cron(rule), "rule"),
        (contract_schedule(document), "contract"),
        (product_default if cron_is_valid(product_default) else "", "product"),
    ):
        if cron:
            return Schedule(cron=" ".join(cron.split()), source=source, interval=interval)
    return Schedule(cron="", source="default", interval=interval)


def schedule_problems(document: dict) -> list[str]:
    """Schedules in the document the portal cannot follow (shown as warnings when publishing)."""
    from .rules import contract_rules

    problems = []
    for prop in document.get("customProperties") or [] if isinstance(document, dict) else []:
        if isinstance(prop, dict) and prop.get("property") == CONTRACT_SCHEDULE_PROPERTY:
            try:
                parse_cron(str(prop.get("value") or ""))
            except ValueError as exc:
                problems.append(f"customProperties.{CONTRACT_SCHEDULE_PROPERTY}: {exc} The default schedule applies.")
    items = [(ref.key, ref.rule) for ref in contract_rules(document)]
    items += [
        (f"slaProperties[{i}]", s) for i, s in enumerate(document.get("slaProperties") or []) if isinstance(s, dict)
    ]
    for key, item in items:
        schedule = str(item.get("schedule") or "").strip()
        if not schedule:
            continue
        scheduler = str(item.get("scheduler") or "cron").strip().lower()
        if scheduler != "cron":
            problems.append(
                f"{key}: scheduler {scheduler!r} is not run by the portal (only cron); the default schedule applies."
            )
            continue
        try:
            parse_cron(schedule)
        except ValueError as exc:
            problems.append(f"{key}: {exc} The default schedule applies.")
    return problems
