"""apps.core.db.retry_on_deadlock against a real PostgreSQL deadlock: two transactions lock two
rows in opposite orders; PostgreSQL aborts one (SQLSTATE 40P01), which runs again and succeeds."""

import threading

import pytest
from django.db import connection, connections, transaction

from apps.catalog.models import Domain
from apps.core.db import retry_on_deadlock
from tests.catalog.factories import DomainFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_transaction_postgresql_aborts_to_break_a_deadlock_runs_again():
    first, second = DomainFactory(), DomainFactory()
    barrier = threading.Barrier(2, timeout=10)
    calls = {"a": 0, "b": 0}
    errors = []

    def locker(name, ids):
        @retry_on_deadlock
        @transaction.atomic
        def lock_both():
            calls[name] += 1
            Domain.objects.select_for_update().get(pk=ids[0])
            if calls[name] == 1:  # both hold their first row, then each asks for the other's
                barrier.wait()
            Domain.objects.select_for_update().get(pk=ids[1])

        try:
            lock_both()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=locker, args=("a", [first.pk, second.pk])),
        threading.Thread(target=locker, args=("b", [second.pk, first.pk])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(calls.values()) == [1, 2]  # the one PostgreSQL aborted ran twice


def test_inside_a_callers_transaction_the_error_is_not_retried():
    from django.db import OperationalError
    from psycopg.errors import DeadlockDetected

    calls = []

    @retry_on_deadlock
    def fails():
        calls.append(1)
        raise OperationalError("deadlock detected") from DeadlockDetected("deadlock detected")

    with pytest.raises(OperationalError), transaction.atomic():
        fails()
    assert calls == [1]
    assert not connection.in_atomic_block
