"""A write whose answer is lost (the connection dropped while it was in flight, or no answer
came in time): what is stored decides, so a save the server committed is not reported as
failed, and one it did not commit is sent again, never stored twice. The server is real; only
the answer is lost, by a wrapper around the client's call."""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent, Tracking

from nerv_inner_universe.client import (
    CallTimeoutError,
    DbConnection,
    OutcomeUnknownError,
    SpacetimeConnectionError,
)
from nerv_inner_universe.eventsourcing_module import (
    InnerUniverseApplicationRecorder,
    InnerUniverseFactory,
    InnerUniverseProcessRecorder,
)

Call = Callable[..., Awaitable[Any]]


@pytest.fixture
def factory() -> Iterator[InnerUniverseFactory]:
    made = InnerUniverseFactory(os.environ)
    yield made
    made.close()


def losing_answers(
    monkeypatch: pytest.MonkeyPatch, *, losses: int, commit: bool, timeout: bool = False
) -> list[str]:
    """The next ``losses`` `es_insert_events` calls lose their answer: sent and committed
    first with ``commit``, else never sent; lost as a drop, or with ``timeout`` as a call
    timeout. Returns the reducers of every call made, lost or not."""
    made: list[str] = []
    original: Call = DbConnection.call_reducer
    left = [losses]

    async def call(connection: DbConnection, reducer: str, *args: Any, **options: Any) -> Any:
        made.append(reducer)
        if reducer != "es_insert_events" or not left[0]:
            return await original(connection, reducer, *args, **options)
        left[0] -= 1
        if commit:
            await original(connection, reducer, *args, **options)
        if timeout:
            raise CallTimeoutError(reducer, 0, 1.0)
        raise OutcomeUnknownError(reducer, 0, "the connection dropped")

    monkeypatch.setattr(DbConnection, "call_reducer", call)
    return made


def event(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator, version, "t", f'{{"v":{version}}}'.encode())


@pytest.mark.parametrize("timeout", [False, True])
def test_a_committed_write_whose_answer_was_lost_succeeds(
    factory: InnerUniverseFactory, monkeypatch: pytest.MonkeyPatch, timeout: bool
) -> None:
    recorder = factory.application_recorder()
    assert isinstance(recorder, InnerUniverseApplicationRecorder)
    first = uuid.uuid4()
    assert recorder.insert_events([event(first, 1)]) == [1]
    calls = losing_answers(monkeypatch, losses=1, commit=True, timeout=timeout)
    second = uuid.uuid4()
    assert recorder.insert_events([event(second, 1), event(second, 2)]) == [2, 3]
    assert calls.count("es_insert_events") == 1  # known stored: not sent again
    assert [n.originator_id for n in recorder.select_notifications(1, 10)] == [
        first,
        second,
        second,
    ]


def test_a_write_lost_before_it_committed_is_sent_again_once(
    factory: InnerUniverseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = factory.application_recorder()
    calls = losing_answers(monkeypatch, losses=1, commit=False)
    originator = uuid.uuid4()
    assert recorder.insert_events([event(originator, 1)]) == [1]
    assert calls.count("es_insert_events") == 2
    assert len(recorder.select_notifications(1, 10)) == 1


def test_a_write_that_timed_out_before_it_committed_is_not_sent_again(
    factory: InnerUniverseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a timeout the call may still run: it is reported, not sent again."""
    recorder = factory.application_recorder()
    calls = losing_answers(monkeypatch, losses=1, commit=False, timeout=True)
    with pytest.raises(OperationalError, match="may or may not have committed"):
        recorder.insert_events([event(uuid.uuid4(), 1)])
    assert calls.count("es_insert_events") == 1


def test_a_tracking_record_whose_answer_was_lost_succeeds(
    factory: InnerUniverseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = factory.process_recorder()
    assert isinstance(recorder, InnerUniverseProcessRecorder)
    recorder.insert_events([], tracking=Tracking("upstream", 1))
    calls = losing_answers(monkeypatch, losses=1, commit=True)
    recorder.insert_events([], tracking=Tracking("upstream", 2))
    assert calls.count("es_insert_events") == 1
    assert recorder.max_tracking_id("upstream") == 2


def test_when_the_check_gets_no_answer_either_the_calls_own_error_is_raised(
    factory: InnerUniverseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that answers neither the call nor the read of what it stored: the error says
    the save's outcome is unknown, not that a query went unanswered."""
    recorder = factory.application_recorder()
    losing_answers(monkeypatch, losses=1, commit=False, timeout=True)

    async def unanswered(_connection: DbConnection, query: str, **_options: Any) -> Any:
        raise SpacetimeConnectionError(f"query {query!r}: no answer within 1 s")

    monkeypatch.setattr(DbConnection, "one_off_query", unanswered)
    with pytest.raises(OperationalError, match="may or may not have committed") as failed:
        recorder.insert_events([event(uuid.uuid4(), 1)])
    own = failed.value.__cause__
    assert isinstance(own, CallTimeoutError)
    assert "no answer within 1 s" in str(own.__cause__)
