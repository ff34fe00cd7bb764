"""Matching the server's outcome reports to calls in flight."""

from __future__ import annotations

import asyncio

from nerv_inner_universe.client.calls import PendingCall, PendingCalls


async def pending(*calls: tuple[int, str, str, bool]) -> PendingCalls:
    registry = PendingCalls()
    loop = asyncio.get_running_loop()
    for request_id, reducer, args, sent in calls:
        registry.add(PendingCall(request_id, reducer, args, loop.create_future(), sent))
    return registry


async def test_committed_reports_match_by_request_id() -> None:
    calls = await pending((1, "a", "[]", True), (2, "a", "[]", True))
    taken = calls.take(2, "a", "[]")
    assert taken is not None
    assert taken.request_id == 2
    assert calls.take(2, "a", "[]") is None
    assert len(calls) == 1


async def test_failure_reports_without_id_match_the_oldest_same_call() -> None:
    calls = await pending(
        (1, "other", '["x"]', True),
        (2, "delete", '["a"]', True),
        (3, "delete", '["b"]', True),
    )
    taken = calls.take(0, "delete", '["b"]')
    assert taken is not None
    assert taken.request_id == 3
    taken = calls.take(0, "delete", "[]")  # arguments the server could not decode
    assert taken is not None
    assert taken.request_id == 2
    assert calls.take(0, "delete", '["b"]') is None


async def test_unsent_calls_cannot_be_answered() -> None:
    calls = await pending((1, "delete", '["a"]', False))
    assert calls.take(0, "delete", '["a"]') is None


async def test_discard_and_drain() -> None:
    calls = await pending((1, "a", "[]", True), (2, "b", "[]", False))
    calls.discard(1)
    calls.discard(99)
    assert [c.request_id for c in calls.drain()] == [2]
    assert len(calls) == 0
