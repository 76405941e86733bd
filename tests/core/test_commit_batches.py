"""``enqueue_batch_on_commit``: one task per transaction with the items of what committed.

The task is a recording stand-in for a Celery task (``apply_async`` records, or refuses like a
broker that is down); the transactions, savepoints and on-commit hooks are the real database's.
"""

import pytest
from django.db import transaction

from apps.core.tasks import enqueue_batch_on_commit


class RecordingTask:
    """Stand-in for a Celery task: records each publish; ``refuse`` simulates a broker outage."""

    def __init__(self, name="tests.recording", refuse=False):
        self.name, self.refuse, self.published = name, refuse, []

    def apply_async(self, args=(), kwargs=None):
        if self.refuse:
            raise ConnectionError("broker down")
        self.published.append(tuple(args))


class Boom(Exception):
    pass


pytestmark = pytest.mark.django_db(transaction=True)


def test_items_of_one_transaction_are_published_once_in_order_after_commit():
    task = RecordingTask()
    with transaction.atomic():
        for item in (1, 2, 3):
            enqueue_batch_on_commit(task, item, "approved")
        assert task.published == []  # nothing before the commit
    assert task.published == [([1, 2, 3], "approved")]


def test_other_arguments_make_other_batches_and_the_next_transaction_a_new_one():
    task = RecordingTask()
    with transaction.atomic():
        enqueue_batch_on_commit(task, 1, "approved")
        enqueue_batch_on_commit(task, 2, "rejected")
        enqueue_batch_on_commit(task, 3, "approved")
    with transaction.atomic():
        enqueue_batch_on_commit(task, 4, "approved")
    first, second = task.published[:2], task.published[2:]
    assert sorted(first) == [([1, 3], "approved"), ([2], "rejected")]  # each batch flushes after its last item
    assert second == [([4], "approved")]


def test_an_item_of_a_rolled_back_savepoint_is_left_out():
    task = RecordingTask()
    with transaction.atomic():
        enqueue_batch_on_commit(task, 1)
        with pytest.raises(Boom), transaction.atomic():
            enqueue_batch_on_commit(task, 2)
            raise Boom
        enqueue_batch_on_commit(task, 3)
    assert task.published == [([1, 3],)]


def test_a_batch_begun_in_a_rolled_back_savepoint_starts_again():
    task = RecordingTask()
    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            enqueue_batch_on_commit(task, 1)
            raise Boom
        enqueue_batch_on_commit(task, 2)
        with transaction.atomic():  # a released savepoint keeps its items
            enqueue_batch_on_commit(task, 3)
    assert task.published == [([2, 3],)]


def test_a_rolled_back_transaction_publishes_nothing():
    task = RecordingTask()
    with pytest.raises(Boom), transaction.atomic():
        enqueue_batch_on_commit(task, 1)
        raise Boom
    with transaction.atomic():
        enqueue_batch_on_commit(task, 2)
    assert task.published == [([2],)]


def test_outside_a_transaction_the_item_is_published_at_once():
    task = RecordingTask()
    enqueue_batch_on_commit(task, 7, "x")
    assert task.published == [([7], "x")]


def test_when_the_broker_refuses_the_fallback_gets_the_items():
    task, handled = RecordingTask(refuse=True), []
    with transaction.atomic():
        for item in (1, 2):
            enqueue_batch_on_commit(task, item, fallback=handled.append)
    assert handled == [[1, 2]]


def test_other_on_commit_callbacks_keep_their_order_and_the_flush_runs_last():
    task, order = RecordingTask(), []
    with transaction.atomic():
        enqueue_batch_on_commit(task, 1)
        transaction.on_commit(lambda: order.append(("hook", list(task.published))))
        enqueue_batch_on_commit(task, 2)
    assert order == [("hook", [])]
    assert task.published == [([1, 2],)]


@pytest.mark.django_db(transaction=False)
def test_captured_callbacks_in_a_test_transaction_see_each_block(django_capture_on_commit_callbacks):
    task = RecordingTask()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_batch_on_commit(task, 1)
        enqueue_batch_on_commit(task, 2)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_batch_on_commit(task, 3)
    assert task.published == [([1, 2],), ([3],)]


def test_a_big_batch_is_published_in_chunks():
    task = RecordingTask()
    with transaction.atomic():
        for item in range(5):
            enqueue_batch_on_commit(task, item, chunk=2)
    assert task.published == [([0, 1],), ([2, 3],), ([4],)]
