"""Writes for access requests and grants, one module per concern; every caller imports from here.

- :mod:`.requests`: submit, extend, cancel (and routing to the approval chain)
- :mod:`.approvals`: decision authority, segregation of duties, deciding steps, delegation
- :mod:`.policies`: access policies and purposes
- :mod:`.grants`: create, apply (batched), fail, retry
- :mod:`.transitions`: the access models' settings of the one transition helper (``apps.audit.transitions``)
- :mod:`.revocations`: revoke rights, revoke, expire, stuck revocations and giving up
- :mod:`.reconcile`: drift between grants and their platforms
- :mod:`.reminders`: reminders and escalation past the SLA
- :mod:`.notify`: notifications and webhooks

Each transition (:func:`apps.audit.transitions.transition`) locks the row (``select_for_update``),
checks the move against ``ACCESS_REQUEST_TRANSITIONS`` / ``GRANT_TRANSITIONS`` / ``APPROVAL_STEP_TRANSITIONS`` (``ApplicationError`` if it is not
allowed), writes an audit event, and schedules side effects with ``transaction.on_commit`` so
nothing reaches the broker for a transaction that rolls back.
"""

from ._base import AUDIT_OBJECT_TYPES, audit_record
from .approvals import (
    access_request_approve,
    access_request_reject,
    approver_delegation_create,
    approver_delegation_end,
)
from .grants import (
    APPLY_BATCH_SIZE,
    APPLY_DRAIN_BATCHES,
    APPLY_TAKEOVER_AFTER,
    _spec,
    grant_apply,
    grant_create,
    grant_mark_failed,
    grant_pending_stuck,
    grant_principal,
    grant_retry,
    grant_role_name,
    grants_apply,
)
from .notify import access_requests_notify, access_requests_notify_approvers, grant_expiring_notify, step_approvers
from .policies import access_policy_ensure_defaults, access_policy_update, purpose_save
from .reconcile import grant_reconcile, platform_ids_to_reconcile, platform_reconcile
from .reminders import access_request_remind_due
from .requests import access_request_cancel, access_request_extend, access_request_submit
from .revocations import (
    EXPIRY_REASON,
    REVOKING_STALE_AFTER,
    grant_expire_due,
    grant_revoke,
    grant_revoke_give_up,
    grant_revoke_request,
    grant_revoking_stuck,
)
from .transitions import _grant_transition, _transition

__all__ = [
    "APPLY_BATCH_SIZE",
    "APPLY_DRAIN_BATCHES",
    "APPLY_TAKEOVER_AFTER",
    "AUDIT_OBJECT_TYPES",
    "EXPIRY_REASON",
    "REVOKING_STALE_AFTER",
    "_grant_transition",
    "_spec",
    "_transition",
    "access_policy_ensure_defaults",
    "access_policy_update",
    "access_request_approve",
    "access_request_cancel",
    "access_request_extend",
    "access_request_reject",
    "access_request_remind_due",
    "access_request_submit",
    "access_requests_notify_approvers",
    "access_requests_notify",
    "approver_delegation_create",
    "approver_delegation_end",
    "audit_record",
    "grant_apply",
    "grants_apply",
    "grant_create",
    "grant_expire_due",
    "grant_expiring_notify",
    "grant_mark_failed",
    "grant_pending_stuck",
    "grant_principal",
    "grant_reconcile",
    "grant_retry",
    "grant_revoke",
    "grant_revoke_give_up",
    "grant_revoke_request",
    "grant_revoking_stuck",
    "grant_role_name",
    "platform_ids_to_reconcile",
    "platform_reconcile",
    "purpose_save",
    "step_approvers",
]
