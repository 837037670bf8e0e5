"""The event stream's batches: status changes coalesced per job, scheduler-record changes as their own kind (no
fake status change), both delivered together by one dispatcher thread."""
from __future__ import annotations

import threading
import time

from GangaJupyter.Lib.Monitor.events import EventBatch, StatusEvents


class Collector:
    def __init__(self, stream: StatusEvents):
        self.batches: list[EventBatch] = []
        self._arrived = threading.Event()
        self.token = stream.subscribe(self)

    def __call__(self, batch: EventBatch) -> None:
        self.batches.append(batch)
        self._arrived.set()

    def wait(self, timeout: float = 5.0) -> EventBatch:
        assert self._arrived.wait(timeout), "no batch was delivered"
        self._arrived.clear()
        return self.batches[-1]


def test_a_record_change_arrives_without_a_status() -> None:
    stream = StatusEvents(window=0.01)
    seen = Collector(stream)
    stream.publish_record("7.3")
    batch = seen.wait()
    assert isinstance(batch, EventBatch)
    assert dict(batch) == {} and batch.records == frozenset({"7.3"})


def test_statuses_and_records_of_one_burst_share_a_batch() -> None:
    stream = StatusEvents(window=0.2)
    seen = Collector(stream)
    stream.publish("1", "submitted")
    stream.publish("1", "running")
    stream.publish_record("1")
    stream.publish_record("2")
    stream.publish_record("2")
    batch = seen.wait()
    assert {fqid: status for fqid, (status, _) in batch.items()} == {"1": "running"}
    assert batch.records == {"1", "2"}
    assert len(seen.batches) == 1
    assert stream.published == 5


def test_a_status_batch_has_no_records() -> None:
    stream = StatusEvents(window=0.01)
    seen = Collector(stream)
    stream.publish("4", "completed")
    batch = seen.wait()
    assert batch.records == frozenset() and batch["4"][0] == "completed"


def test_records_are_not_delivered_twice() -> None:
    stream = StatusEvents(window=0.01)
    seen = Collector(stream)
    stream.publish_record("5")
    seen.wait()
    stream.publish("6", "running")
    batch = seen.wait()
    assert batch.records == frozenset() and set(batch) == {"6"}


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    stream = StatusEvents(window=0.01)

    def broken(batch: EventBatch) -> None:
        raise RuntimeError("a broken view")

    stream.subscribe(broken)
    seen = Collector(stream)
    stream.publish_record("8")
    assert seen.wait().records == {"8"}
    stream.unsubscribe(seen.token)
    stream.publish_record("9")
    time.sleep(0.1)
    assert [b.records for b in seen.batches] == [frozenset({"8"})]
    assert stream.subscriber_count() == 1


def test_the_statuses_a_job_passed_through_in_one_window_are_kept_in_order() -> None:
    stream = StatusEvents(window=0.2)
    seen = Collector(stream)
    for status in ("submitting", "submitted", "submitted", "running"):
        stream.publish("4", status)
    stream.publish("5", "running")
    batch = seen.wait()
    assert batch["4"][0] == "running" and batch.passed == {"4": ["submitting", "submitted"]}
    stream.publish("4", "completed")
    assert seen.wait().passed == {}, "each batch says only what passed in its own window"


def test_other_sessions_changes_skip_the_window_this_sessions_own_wait_for_it() -> None:
    """Another session's changes arrive already gathered (a read of its journal): they go out at once, not after
    the window that collapses this session's own bursts."""
    stream = StatusEvents(window=5.0, foreign_window=0.0)
    seen = Collector(stream)
    stream.publish_foreign("3", "running", time.time())
    assert seen.wait(timeout=2.0)["3"][0] == "running"
    stream.publish("4", "submitted")
    stream.publish_foreign("5", "completed", time.time())
    assert not seen._arrived.wait(1.0), "an own change went out before its window"
