"""Reads of the audit trail: who may read it, the filtered trail, one object's history, and the
tamper-evidence check of the hash chain (migration ``access.0007``; ``docs/security.md``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import AuditEvent

#: Global permission of the stewards (and admins) who read the whole trail.
VIEW_PERMISSION = "audit.view_auditevent"


def audit_can_view(*, user) -> bool:
    """Stewards (global ``audit.view_auditevent``) and admins read the whole audit trail."""
    return bool(user.is_authenticated and user.has_perm(VIEW_PERMISSION))


def audit_event_list(*, user, filters=None) -> QuerySet[AuditEvent]:
    """The whole audit trail for stewards (``Http404`` for anyone else), newest first, narrowed by
    ``filters`` (a query dict for :class:`apps.audit.filters.AuditEventFilter`). Raises
    ``django.core.exceptions.ValidationError`` (``{field: [message]}``) when a filter value is invalid:
    never the unfiltered trail."""
    from .filters import AuditEventFilter

    if not (user.is_authenticated and user.is_steward):
        raise Http404
    events = AuditEvent.objects.visible_to(user).select_related("actor").order_by("-at", "-id")
    if not filters:
        return events
    filterset = AuditEventFilter(filters, queryset=events)
    if not filterset.is_valid():
        from django.core.exceptions import ValidationError

        raise ValidationError({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


def audit_for_objects(*objects: tuple[str, object]) -> QuerySet[AuditEvent]:
    """Events about any of ``objects`` (``(object_type, pk)`` pairs; a ``None`` pk is skipped), oldest
    first, with their actors. The caller has checked that the reader may see those objects."""
    q = Q(pk__in=[])
    for object_type, pk in objects:
        if pk is not None:
            q |= Q(object_type=object_type, object_id=str(pk))
    return AuditEvent.objects.filter(q).select_related("actor").order_by("at", "id")


def audit_chain_head() -> tuple[int, str] | None:
    """The chain's last link: ``(chain_seq, hash)``, or None for an empty trail. One indexed query."""
    return (
        AuditEvent.objects.filter(chain_seq__isnull=False)
        .order_by("-chain_seq")
        .values_list("chain_seq", "hash")
        .first()
    )


@dataclass(frozen=True)
class AuditChainBreak:
    """One event whose chain link does not verify: ``reason`` is ``"hash"`` (content or hash altered),
    ``"link"`` (``prev_hash`` is not the previous event's hash) or ``"gap"`` (a position is missing)."""

    chain_seq: int
    event_id: int
    reason: str


@dataclass(frozen=True)
class AuditChainReport:
    """Result of :func:`audit_chain_verify`: ``checked`` events, ``breaks`` in chain order (at most
    ``limit``), ``unchained`` events without a chain position (written with the trigger disabled), and the
    chain's head (last position and its hash: keep it elsewhere to detect a trail rewritten in full)."""

    checked: int
    breaks: list[AuditChainBreak]
    unchained: int
    head_seq: int | None = None
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.unchained


_CHAIN_VERIFY_SQL = """
SELECT chain_seq, id, hash,
       CASE
         WHEN hash IS DISTINCT FROM access_auditevent_hash(prev_hash, at, actor_id, action, object_type,
                                                           object_id, before, after, message) THEN 'hash'
         WHEN prev_hash IS DISTINCT FROM coalesce(lag(hash) OVER w, '') THEN 'link'
         WHEN chain_seq <> coalesce(lag(chain_seq) OVER w, 0) + 1 THEN 'gap'
       END AS reason
  FROM access_auditevent
 WHERE chain_seq IS NOT NULL
WINDOW w AS (ORDER BY chain_seq)
 ORDER BY chain_seq
"""


def audit_chain_verify(*, limit: int = 100) -> AuditChainReport:
    """Recompute the audit trail's SHA-256 chain in the database (one pass, ordered by ``chain_seq``).

    Each event's ``hash`` must equal ``access_auditevent_hash(prev_hash, content)`` and its ``prev_hash`` the
    previous event's ``hash`` (migration ``access.0007``). Returns an :class:`AuditChainReport`; raises
    nothing for a broken chain (the caller decides). Reads every event: O(n), about 1 s per million rows.
    """
    checked, breaks = 0, []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT chain_seq, id, hash, reason FROM ({_CHAIN_VERIFY_SQL}) AS c")
        head_seq, head_hash = None, ""
        for chain_seq, event_id, event_hash, reason in cursor:
            checked += 1
            head_seq, head_hash = chain_seq, event_hash
            if reason and len(breaks) < limit:
                breaks.append(AuditChainBreak(chain_seq=chain_seq, event_id=event_id, reason=reason))
    unchained = AuditEvent.objects.filter(chain_seq__isnull=True).count()
    return AuditChainReport(checked=checked, breaks=breaks, unchained=unchained, head_seq=head_seq, head_hash=head_hash)
