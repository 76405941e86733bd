"""The one writer of the audit trail. Every app records governance changes here, on the same
transaction as the change (a rolled-back change leaves no event)."""

from __future__ import annotations

from .models import AuditEvent

AUDIT_OBJECT_TYPES = {
    "AccessRequest": "access_request",
    "AccessPolicy": "access_policy",
    "ApproverDelegation": "delegation",
}


def audit_record(
    *, actor, action: str, obj, before: dict | None = None, after: dict | None = None, message: str = ""
) -> AuditEvent:
    """Append one audit event about ``obj`` and return it.

    ``object_type`` is :data:`AUDIT_OBJECT_TYPES`' name for the model or its lower-case name; ``actor``
    is a user (anonymous or ``None``: the system). ``before``/``after`` are JSON-serialisable dicts. The
    database sets the event's chain position and hashes (``access.0007``); raises only database errors.
    """
    object_type = AUDIT_OBJECT_TYPES.get(type(obj).__name__, type(obj).__name__.lower())
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(obj.pk),
        before=before or {},
        after=after or {},
        message=message,
    )
