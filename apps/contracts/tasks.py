"""Celery tasks for data contracts: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=280, time_limit=300)
def contract_breaking_change_notify_task(import_id: int) -> int:
    from .services import contract_breaking_change_notify

    return contract_breaking_change_notify(import_id=import_id)


@shared_task(acks_late=True, soft_time_limit=280, time_limit=300)
def contract_drift_check_task(product_id: int) -> int:
    from .drift import contract_drift_check

    return contract_drift_check(product_id=product_id)


@shared_task(acks_late=True, soft_time_limit=280, time_limit=300)
def contract_drift_check_platform_task(platform_id: int) -> int:
    from .drift import contract_drift_check_platform

    return contract_drift_check_platform(platform_id=platform_id)


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def contract_quality_run_task(product_id: int, rule_keys: list[str] | None = None) -> int | None:
    """Run one product's contract quality rules, or those of ``rule_keys`` (read-only, with a
    statement timeout)."""
    from .services import contract_quality_run

    run = contract_quality_run(product_id=product_id, rule_keys=rule_keys)
    return run.pk if run else None


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def contract_quality_due_task() -> int:
    """Beat: enqueue a quality run for each product with rules due (per rule, contract or
    product schedule), with the keys of the rules due."""
    from .services import contract_quality_due

    due = contract_quality_due()
    for product_id, rule_keys in due.items():
        contract_quality_run_task.delay(product_id, rule_keys)
    return len(due)
