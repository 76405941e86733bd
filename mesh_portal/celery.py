"""The Celery application: workers turn approvals into grants and sync metadata.

Periodic work is registered here, in one place (``app.conf.beat_schedule``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh_portal.settings.local")

app = Celery("mesh_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # E-mail copies of notifications whose task was lost (broker down after the commit) are sent.
    "notifications-email-due": {
        "task": "apps.notifications.tasks.notification_email_due_task",
        "schedule": 60.0,
    },
    # Webhook deliveries whose Celery retry was lost (worker or broker restart) are re-enqueued.
    "notifications-webhooks-retry-due": {
        "task": "apps.notifications.tasks.webhook_retry_due_task",
        "schedule": 300.0,
    },
    # Data contract quality rules: the rules due (per rule, contract or product cron schedule, else every
    # CONTRACT_QUALITY_INTERVAL_MINUTES: apps/contracts/schedules.py) run on the worker.
    "contracts-quality-due": {
        "task": "apps.contracts.tasks.contract_quality_due_task",
        "schedule": 300.0,
    },
    # Each platform has its own sync interval; this sweep enqueues the ones that are due.
    "sync-due": {
        "task": "apps.sync.tasks.platform_sync_due_task",
        "schedule": 60.0,
    },
    # Grants whose end date passed are revoked on the platform.
    "access-grants-expire": {
        "task": "apps.access.tasks.grant_expire_due_task",
        "schedule": 60.0,
    },
    # Popularity (grants, requests, views over 30 days) feeds search ranking.
    "search-popularity-refresh": {
        "task": "apps.search.tasks.search_popularity_refresh_task",
        "schedule": 15 * 60.0,
    },
    # Drift: what each platform really has for the active grants is compared with what they
    # should give; a privilege removed or added outside the portal is corrected and recorded.
    "access-grants-reconcile": {
        "task": "apps.access.tasks.platform_reconcile_due_task",
        "schedule": 300.0,
    },
    # Grants stuck in pending (e.g. the broker was down at approval time) are re-enqueued.
    "access-grants-sweep-pending": {
        "task": "apps.access.tasks.grant_sweep_pending_task",
        "schedule": 60.0,
    },
    # Grants stuck in revoking (the broker was down when the revocation was committed, or the
    # worker died) are revoked again: a committed revocation always reaches the platform.
    "access-grants-sweep-revoking": {
        "task": "apps.access.tasks.grant_sweep_revoking_task",
        "schedule": 60.0,
    },
    # Access requests pending longer than their policy's SLA: remind approvers, then escalate.
    "access-requests-remind": {
        "task": "apps.access.tasks.access_request_remind_task",
        "schedule": 15 * 60.0,
    },
    # Consumers whose grant ends within 7 days are told (once per grant and end date).
    "access-grants-expiring-notify": {
        "task": "apps.access.tasks.grant_expiring_notify_task",
        "schedule": 60 * 60.0,
    },
    # Insights: yesterday's KPI snapshot (trend lines read these; today is computed live).
    "insights-kpi-snapshot": {
        "task": "apps.insights.tasks.kpi_snapshot_daily_task",
        "schedule": 60 * 60.0,
    },
    # Insights: fact rows older than INSIGHTS_RETENTION_DAYS are deleted.
    "insights-events-prune": {
        "task": "apps.insights.tasks.usage_events_prune_task",
        "schedule": 24 * 60 * 60.0,
    },
}
