"""The one status transition helper of every model with a lifecycle table (access requests,
grants, approval steps, data products): lock the row, check the move against the model's table in
its app's ``choices.py``, write the status (and the fields that change with it), record the audit
event, and schedule side effects for after the commit. :func:`transition_bulk` does the same for
many rows in a handful of queries.

It lives in ``apps.audit`` (below catalog and access, above core) because it writes the audit
trail; it imports nothing above ``apps.audit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from django.db import connections, router, transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError

from .models import AuditEvent
from .services import AUDIT_OBJECT_TYPES, audit_record

#: A transition table: status -> the statuses it may move to.
TransitionTable = Mapping[str, Iterable[str]]


def jsonable(value):
    """``value`` as stored in an audit event: datetimes as ISO 8601, model instances as ``str()``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return str(value)
    return value


def _label(obj, value: str) -> str:
    return str(dict(type(obj)._meta.get_field("status").flatchoices).get(value, value))


def transition_refusal(
    obj, to: str, *, table: TransitionTable, subject: str | None = None, field_errors: bool = False
) -> ApplicationError | None:
    """The ``ApplicationError`` refusing ``obj.status`` → ``to`` when ``table`` does not allow it,
    else None. Message: ``"<subject> is <current>; it cannot become <to>."`` (status labels, lower
    case; ``subject`` defaults to ``"<Model> #<pk>"``). ``field_errors``: add
    ``{"status": ["Allowed from <current>: <targets>."]}`` for the API's and forms' error body."""
    current = obj.status
    if to in table[current]:
        return None
    subject = subject or f"{type(obj)._meta.verbose_name.capitalize()} #{obj.pk}"
    extra = (
        {"status": [f"Allowed from {current}: {', '.join(sorted(table[current])) or 'none'}."]}
        if field_errors
        else None
    )
    return ApplicationError(
        f"{subject} is {_label(obj, current).lower()}; it cannot become {_label(obj, to).lower()}.", extra
    )


def _update_fields(model, changes: Iterable[str]) -> list[str]:
    fields = ["status", *changes]
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        fields.append("updated_at")
    return fields


def transition(
    obj,
    to: str,
    *,
    table: TransitionTable,
    actor,
    action: str | None,
    message: str = "",
    changes: dict | None = None,
    audit_object=None,
    audit_before: dict | None = None,
    audit_after: dict | None = None,
    audit_unchanged: bool = True,
    subject: str | None = None,
    field_errors: bool = False,
    lock: bool = True,
    on_commit: Callable[[], None] | None = None,
) -> str:
    """Move ``obj`` (a saved model instance with a ``status`` field; unsaved ones are not locked)
    to status ``to`` and return its previous status.

    1. ``lock``: ``SELECT ... FOR UPDATE`` the row and re-read its status (pass ``lock=False`` when
       the caller already holds the row lock, e.g. it fetched ``obj`` with ``select_for_update``).
    2. Raise :func:`transition_refusal`'s ``ApplicationError`` unless ``to in table[obj.status]``
       (nothing is written then).
    3. Set ``status`` and ``changes`` (field -> value) and save them (plus ``updated_at`` when the
       model has one).
    4. Record ``action`` on ``audit_object`` (default ``obj``) with ``actor``, ``message``, before
       ``audit_before`` and after ``audit_after``, each with ``"status"`` set (previous, ``to``);
       ``action=None``: no event (the caller's own event covers it); ``audit_unchanged=False``: no
       event for a move to the same status (e.g. ``applying → applying``).
    5. ``on_commit``: a callable run after the transaction commits (``robust``: its failure does
       not undo the change); it never runs for a rolled-back transaction.
    """
    model = type(obj)
    if lock and obj.pk is not None:
        obj.status = model._default_manager.select_for_update().filter(pk=obj.pk).values_list("status", flat=True).get()
    refusal = transition_refusal(obj, to, table=table, subject=subject, field_errors=field_errors)
    if refusal is not None:
        raise refusal
    current = obj.status
    changes = changes or {}
    obj.status = to
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save(update_fields=_update_fields(model, changes))
    if action is not None and (audit_unchanged or current != to):
        audit_record(
            actor=actor,
            action=action,
            obj=obj if audit_object is None else audit_object,
            before={**(audit_before or {}), "status": current},
            after={**(audit_after or {}), "status": to},
            message=message,
        )
    if on_commit is not None:
        transaction.on_commit(on_commit, robust=True)
    return current


def transition_bulk(
    objs: list,
    to: str,
    *,
    table: TransitionTable,
    actor,
    action: str | None,
    message: str | Callable[[object], str] = "",
    changes: dict | None = None,
    per_object: dict | None = None,
    audit_unchanged: bool = True,
    subject: Callable[[object], str] | None = None,
    lock: bool = True,
    at: datetime | None = None,
    on_commit: Callable[[], None] | None = None,
) -> None:
    """:func:`transition` for many saved rows of one model at once: every move is checked against
    ``table`` first (the first refused one raises, nothing is written), then one UPDATE (or one
    ``bulk_update`` when ``per_object`` gives per-row values: pk -> {field: value}) and one INSERT
    of the audit events (one per row, ``at`` the same instant; ``action=None``: none). ``changes``
    are set on every row; ``message`` may be a callable giving each row's message; ``subject`` a
    callable naming a row in the refusal; ``at``: the instant written (default now). ``lock``: lock the rows and re-read their statuses (pass
    ``False`` when the caller holds the locks, e.g. claimed them with ``SKIP LOCKED``)."""
    if not objs:
        return
    model = type(objs[0])
    if lock:
        statuses = dict(
            model._default_manager.select_for_update().filter(pk__in=[o.pk for o in objs]).values_list("pk", "status")
        )
        for obj in objs:
            obj.status = statuses[obj.pk]
    for obj in objs:
        refusal = transition_refusal(obj, to, table=table, subject=subject(obj) if subject else None)
        if refusal is not None:
            raise refusal
    now = at or timezone.now()
    changes, per_object = changes or {}, per_object or {}
    has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    events = (
        []
        if action is None
        else [
            AuditEvent(
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                action=action,
                object_type=AUDIT_OBJECT_TYPES.get(model.__name__, model.__name__.lower()),
                object_id=str(o.pk),
                before={"status": o.status},
                after={"status": to},
                message=message(o) if callable(message) else message,
                at=now,
            )
            for o in objs
            if audit_unchanged or o.status != to
        ]
    )
    for obj in objs:
        obj.status = to
        if has_updated_at:
            obj.updated_at = now
        for name, value in (per_object.get(obj.pk, {}) | changes).items():
            setattr(obj, name, value)
    if per_object:
        fields = {"status", *changes, *(("updated_at",) if has_updated_at else ())}
        for per in per_object.values():
            fields |= set(per)
        _update_rows(model, objs, sorted(fields))
    else:  # the same values for every row: one plain UPDATE
        model._default_manager.filter(pk__in=[o.pk for o in objs]).update(
            status=to, **({"updated_at": now} if has_updated_at else {}), **changes
        )
    AuditEvent.objects.bulk_create(events)
    if on_commit is not None:
        transaction.on_commit(on_commit, robust=True)


def _update_rows(model, objs: list, fields: list[str]) -> None:
    """Write ``fields`` of each of ``objs`` with one parameterised ``UPDATE ... WHERE pk = %s``
    sent for all rows at once (``executemany``: psycopg 3 pipelines it, one round trip). Django's
    ``bulk_update`` builds a ``CASE WHEN`` per field and row, and spent most of a 200-grant batch's
    time building it (profile in ``bench/README.md``). Identifiers quoted by the backend."""
    connection = connections[router.db_for_write(model)]
    qn = connection.ops.quote_name
    concrete = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    statement = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(model._meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in concrete), qn(pk.column)
    )
    rows = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in concrete]
        + [pk.get_db_prep_save(obj.pk, connection)]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)
