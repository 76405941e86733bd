"""Issue 11: the audit trail is append-only in the database and tamper-evident (real PostgreSQL).

Before migration ``access.0007`` ``AuditEvent.objects.filter(...).update()`` and ``.delete()`` succeeded and
nothing could tell an edited trail from an honest one.
"""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    actor = User.objects.create_user("auditor", password="x")
    return [
        audit_record(actor=actor, action=f"test.step_{i}", obj=actor, after={"i": i}, message=f"event {i}")
        for i in range(4)
    ]


def _bypass_append_only(sql: str, params=()):
    """What a database superuser could do by hand: skip the triggers, change rows, restore them."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_queryset_update_and_delete_are_refused_by_the_database(events):
    ids = [e.pk for e in events]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk__in=ids).update(message="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk__in=ids).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE access_auditevent SET actor_id = NULL WHERE id = %s", [ids[0]])
    assert sorted(AuditEvent.objects.filter(pk__in=ids).values_list("message", flat=True)) == [
        f"event {i}" for i in range(4)
    ]


def test_each_event_is_chained_to_the_previous_one(events):
    rows = list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("chain_seq"))
    assert all(len(r.hash) == 64 for r in rows)
    for previous, current in zip(rows, rows[1:], strict=False):
        assert current.chain_seq == previous.chain_seq + 1
        assert current.prev_hash == previous.hash
    report = audit_chain_verify()
    assert report.ok and report.checked >= 4
    call_command("audit_verify")


def test_an_edited_event_breaks_the_chain_and_the_command_fails(events, capsys):
    _bypass_append_only("UPDATE access_auditevent SET message = 'nothing happened' WHERE id = %s", [events[1].pk])
    report = audit_chain_verify()
    assert [(b.event_id, b.reason) for b in report.breaks] == [(events[1].pk, "hash")]
    with pytest.raises(CommandError, match="Audit chain broken"):
        call_command("audit_verify")
    assert f"(event {events[1].pk}): hash" in capsys.readouterr().out


def test_a_deleted_event_breaks_the_chain(events):
    _bypass_append_only("DELETE FROM access_auditevent WHERE id = %s", [events[2].pk])
    report = audit_chain_verify()
    assert [(b.event_id, b.reason) for b in report.breaks] == [(events[3].pk, "link")]


def test_a_recomputed_hash_still_breaks_the_next_link(events):
    """Rewriting an event and its own hash is caught by the following event's prev_hash."""
    _bypass_append_only(
        "UPDATE access_auditevent SET message = 'forged', hash = access_auditevent_hash(prev_hash, at, actor_id,"
        " action, object_type, object_id, before, after, 'forged') WHERE id = %s",
        [events[1].pk],
    )
    report = audit_chain_verify()
    assert [(b.event_id, b.reason) for b in report.breaks] == [(events[2].pk, "link")]


def test_the_stewards_audit_page_shows_the_chains_latest_link(events, client):
    from django.contrib.auth.models import Group

    from apps.accounts.choices import STEWARDS_GROUP

    steward = User.objects.create_user("stewie", password="x")
    steward.groups.add(Group.objects.get_or_create(name=STEWARDS_GROUP)[0])
    client.force_login(steward)
    head = AuditEvent.objects.order_by("-chain_seq").first()
    page = client.get("/access/governance/audit/").content.decode()
    assert f"latest link #{head.chain_seq}" in page and head.hash in page
