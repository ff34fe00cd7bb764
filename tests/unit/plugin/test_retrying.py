"""`Backoff`, and `retried`: connection trouble is retried within ``retry_for``, then
PersistenceError; anything else is raised at once."""

from __future__ import annotations

import itertools
import types

import pytest

from nerv_inner_universe.client import MessageTooLargeError, QueryError, SpacetimeConnectionError
from nerv_inner_universe.plugin import retrying
from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.retrying import FIRST_DELAY, MAX_DELAY, Backoff, retried


class Flaky:
    """Fails with ``errors`` one after the other, then answers ``"rows"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "rows"


async def test_connection_trouble_is_retried_until_it_passes() -> None:
    attempt = Flaky(SpacetimeConnectionError("closed"), SpacetimeConnectionError("closed"))
    assert await retried(attempt, "reading", retry_for=60.0) == "rows"
    assert attempt.calls == 3


async def test_connection_trouble_past_retry_for_is_a_persistence_error() -> None:
    down = SpacetimeConnectionError("the connection closed; query again")
    attempt = Flaky(down)
    with pytest.raises(PersistenceError, match="reading event_log failed") as failed:
        await retried(attempt, "reading event_log", retry_for=0.0)
    assert failed.value.__cause__ is down
    assert attempt.calls == 1


async def test_other_errors_are_raised_at_once() -> None:
    refused = QueryError("SELECT * FROM nowhere", "no such table")
    attempt = Flaky(refused)
    with pytest.raises(QueryError) as failed:
        await retried(attempt, "reading", retry_for=60.0)
    assert failed.value is refused
    assert attempt.calls == 1


async def test_a_message_too_large_is_raised_at_once() -> None:
    too_large = MessageTooLargeError(1024)
    attempt = Flaky(too_large)
    with pytest.raises(MessageTooLargeError) as failed:
        await retried(attempt, "reading", retry_for=60.0)
    assert failed.value is too_large
    assert attempt.calls == 1


async def test_a_backoff_doubles_its_delay_up_to_the_most(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("nerv_inner_universe.plugin.retrying.asyncio.sleep", sleep)
    backoff = Backoff(retry_for=3600)
    for _ in range(8):
        assert not backoff.exhausted()
        await backoff.wait()
    assert slept[0] == FIRST_DELAY
    assert all(b == min(a * 2, MAX_DELAY) for a, b in itertools.pairwise(slept))
    assert slept[-1] == MAX_DELAY


def test_a_backoff_is_exhausted_once_its_deadline_passed() -> None:
    assert Backoff(retry_for=0).exhausted()
    assert not Backoff(retry_for=FIRST_DELAY * 100).exhausted()


async def test_a_backoff_retries_for_all_of_retry_for_and_no_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The waits add up to ``retry_for`` exactly: the last one is cut to end at the deadline
    (it used to give up before a wait that would pass it: after 1.55 s of a 3 s retry_for)."""
    now = [100.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(retrying, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr("nerv_inner_universe.plugin.retrying.asyncio.sleep", sleep)
    backoff = Backoff(retry_for=3.0)
    attempts = 1
    while not backoff.exhausted():
        await backoff.wait()
        attempts += 1
    assert now[0] == pytest.approx(103.0)
    assert attempts == 7  # after 0, 0.05, 0.15, 0.35, 0.75, 1.55 and 3.0 s
