"""The `eventsourcing` recorders send a write again while the database is closed for a stop
(``unavailable``: nothing changed), within ``call_timeout``; every other refusal, and
connection trouble (the outcome may be unknown), is raised at once."""

from __future__ import annotations

import asyncio

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import OutcomeUnknownError, ReducerEvent, ReducerFailedError
from nerv_inner_universe.contract import ErrorCode, ReducerRefusedError
from nerv_inner_universe.eventsourcing_module.datastore import send_while_unavailable
from tests.unit.committed import committed

CALL = contract.es_insert_events(store="s", events=[], tracking=None)


class Refusing:
    """Refuses the first ``times`` calls with ``error``, then commits; counts the calls."""

    def __init__(self, times: int, error: Exception) -> None:
        self.times = times
        self.error = error
        self.calls = 0

    async def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return committed(reducer)


def unavailable() -> ReducerFailedError:
    return ReducerFailedError("es_insert_events", "unavailable: closed for writes")


def test_unavailable_is_sent_again_until_it_is_written() -> None:
    fake = Refusing(3, unavailable())
    outcome = asyncio.run(send_while_unavailable(CALL, fake, budget=30.0))
    assert outcome.reducer_name == "es_insert_events"
    assert fake.calls == 4


def test_unavailable_past_the_budget_raises_the_refusal() -> None:
    fake = Refusing(1_000_000, unavailable())
    with pytest.raises(ReducerRefusedError) as refused:
        asyncio.run(send_while_unavailable(CALL, fake, budget=0.2))
    assert refused.value.code is ErrorCode.UNAVAILABLE
    assert refused.value.retryable
    assert 1 < fake.calls < 1_000_000


@pytest.mark.parametrize(
    "error",
    [
        ReducerFailedError("es_insert_events", "integrity_error: position taken"),
        ReducerFailedError("es_insert_events", "import_open: an import is still open"),
        ReducerFailedError("es_insert_events", "the module panicked"),
        OutcomeUnknownError("es_insert_events", 1, "the connection dropped"),
    ],
)
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    fake = Refusing(1, error)
    with pytest.raises(type(error)) as raised:
        asyncio.run(send_while_unavailable(CALL, fake, budget=30.0))
    assert fake.calls == 1
    if isinstance(raised.value, ReducerRefusedError):
        assert not raised.value.retryable
