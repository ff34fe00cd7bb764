"""`DbConnection`'s reconnect and resync state machine, driven through its seams (a fake
socket factory, an HTTP mock transport, a fake sleep) without a server and without sleeping.
The same behaviour against the real server: tests/integration/client/test_reconnect.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from nerv_inner_universe.client import (
    DbConnection,
    EventContext,
    EventKind,
    JsonCodec,
    OutcomeUnknownError,
    ReconnectPolicy,
    ReducerStatus,
    SpacetimeConnectionError,
    SubscriptionState,
)
from tests.unit.client.fake_server import FakeServer

DEADLINE = 5.0
"""Seconds a test waits for a condition; the fakes meet it in a few loop turns."""


async def until(condition: Callable[[], bool]) -> None:
    """Yields to the loop until ``condition`` holds (TimeoutError after DEADLINE)."""
    async with asyncio.timeout(DEADLINE):
        while not condition():  # noqa: ASYNC110 - plain attributes, no event to wait on
            await asyncio.sleep(0)


class FakeSleep:
    """Records the reconnect delays and waits none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def connection(
    server: FakeServer, sleep: FakeSleep, policy: ReconnectPolicy | None = None
) -> DbConnection:
    return DbConnection(
        "http://fake.invalid",
        "inner-universe",
        token="fake-token",
        reconnect=policy or ReconnectPolicy(initial_delay=1.0, max_delay=4.0, jitter=0.0),
        call_timeout=DEADLINE,
        connect=server.connect,
        transport=server.transport(),
        sleep=sleep,
        codec=JsonCodec,  # the fake server speaks v1.json.spacetimedb
    )


def value_of(row: Any) -> tuple[str, str]:
    return (row.key, row.value)


async def test_a_drop_reconnects_with_backoff_resubscribes_and_reconciles_the_cache() -> None:
    server = FakeServer({"a": "1", "b": "2"})
    sleep = FakeSleep()
    events: list[tuple[str, EventKind, tuple[str, ...]]] = []
    disconnects: list[Exception | None] = []
    async with connection(server, sleep) as conn:
        config = conn.cache.table("config")

        def inserted(ctx: EventContext, row: Any) -> None:
            events.append(("insert", ctx.kind, value_of(row)))

        def deleted(ctx: EventContext, row: Any) -> None:
            events.append(("delete", ctx.kind, value_of(row)))

        def updated(ctx: EventContext, old: Any, new: Any) -> None:
            events.append(("update", ctx.kind, (*value_of(old), new.value)))

        config.on_insert(inserted)
        config.on_delete(deleted)
        config.on_update(updated)
        conn.on_disconnect(lambda _, error: disconnects.append(error))
        await conn.subscribe("SELECT * FROM config")
        assert sorted(value_of(row) for row in config.rows()) == [("a", "1"), ("b", "2")]
        events.clear()

        # while the client is away: a is deleted, b changes, c is new
        server.rows = {"b": "20", "c": "3"}
        server.refusals = 2
        server.socket.drop()
        await until(lambda: conn.is_connected and server.subscriptions == 2)
        await until(lambda: len(events) == 3)

        assert sleep.delays == [1.0, 2.0, 4.0], "exponential backoff: two refusals, then back"
        assert server.attempts == 4
        assert len(disconnects) == 1
        assert isinstance(disconnects[0], SpacetimeConnectionError)
        assert sorted(events) == [
            ("delete", EventKind.RECONCILED, ("a", "1")),
            ("insert", EventKind.RECONCILED, ("c", "3")),
            ("update", EventKind.RECONCILED, ("b", "2", "20")),
        ]
        assert sorted(value_of(row) for row in config.rows()) == [("b", "20"), ("c", "3")]
    assert conn.is_closed
    assert disconnects[-1] is None, "disconnect() is a clean end"


async def test_calls_in_flight_end_as_committed_or_outcome_unknown() -> None:
    server = FakeServer({})
    async with connection(server, FakeSleep()) as conn:
        server.hold_calls = True
        answered = asyncio.create_task(conn.call_reducer("update_config", "x", "1", None))
        lost = asyncio.create_task(conn.call_reducer("update_config", "y", "2", None))
        await until(lambda: len(server.held) == 2)
        assert conn.calls_in_flight == 2
        server.answer(0)  # its outcome is on the wire before the connection drops
        server.socket.drop()

        event = await answered
        assert event.status is ReducerStatus.COMMITTED
        assert event.args == ("x", "1", None)
        with pytest.raises(OutcomeUnknownError, match="may or may not have committed") as caught:
            await lost
        assert caught.value.reducer == "update_config"
        assert server.rows == {"x": "1"}, "the lost call did not commit on the fake"

        await until(lambda: conn.is_connected)
        server.hold_calls = False
        again = await conn.call_reducer("update_config", "y", "2", None)
        assert again.status is ReducerStatus.COMMITTED
        assert conn.calls_in_flight == 0


async def test_calls_not_sent_when_the_connection_drops_fail_saying_nothing_was_sent() -> None:
    server = FakeServer({})
    async with connection(server, FakeSleep()) as conn:
        socket = server.socket
        socket.sends_stall.clear()  # the first frame hangs in send(); the others queue behind
        first = asyncio.create_task(conn.call_reducer("update_config", "x", "1", None))
        queued = [
            asyncio.create_task(conn.call_reducer("update_config", key, "1", None))
            for key in ("y", "z")
        ]
        await until(lambda: len(conn._session.outbox._queue) == 2)  # type: ignore[union-attr]
        socket.drop()
        socket.sends_stall.set()

        with pytest.raises(OutcomeUnknownError):
            await first  # it had started to leave: its outcome is unknown
        for task in queued:
            with pytest.raises(SpacetimeConnectionError, match="nothing was sent") as caught:
                await task
            assert not isinstance(caught.value, OutcomeUnknownError)
        assert server.rows == {}


async def test_giving_up_after_max_attempts_closes_the_connection_for_good() -> None:
    server = FakeServer({"a": "1"})
    sleep = FakeSleep()
    policy = ReconnectPolicy(initial_delay=0.5, jitter=0.0, max_attempts=3)
    conn = connection(server, sleep, policy)
    await conn.connect()
    handle = await conn.subscribe("SELECT * FROM config")
    server.refusals = 100
    server.socket.drop()
    await until(lambda: conn.is_closed)

    assert sleep.delays == [0.5, 1.0, 2.0]
    assert server.attempts == 4, "the first connection and three attempts"
    assert not conn.is_connected
    with pytest.raises(SpacetimeConnectionError, match="nothing was sent"):
        await conn.call_reducer("update_config", "b", "2", None)
    assert handle.ended.done()
    assert [value_of(row) for row in conn.cache.table("config").rows()] == [("a", "1")], (
        "the cache keeps its last rows"
    )
    await conn.disconnect()  # nothing left to close: a no-op


async def test_a_refused_first_connection_raises_and_is_reported() -> None:
    server = FakeServer({})
    server.refusals = 1
    conn = connection(server, FakeSleep())
    errors: list[Exception] = []
    conn.on_connect_error(lambda _, error: errors.append(error))
    with pytest.raises(SpacetimeConnectionError, match=r"cannot open ws://fake\.invalid/"):
        await conn.connect()
    assert len(errors) == 1
    assert not conn.is_connected


async def test_a_subscription_made_not_to_renew_ends_with_the_connection() -> None:
    """``renew=False``: the drop ends the subscription (the caller decides what to ask for
    once reconnected); a renewing one beside it is subscribed again."""
    server = FakeServer({"a": "1"})
    sleep = FakeSleep()
    async with connection(server, sleep) as conn:
        renewed = await conn.subscribe("SELECT * FROM config")
        once = await conn.subscribe("SELECT * FROM config", renew=False)
        assert (renewed.renew, once.renew) == (True, False)
        assert server.subscriptions == 2
        server.socket.drop()
        await until(lambda: conn.is_connected and server.subscriptions == 3)
        assert renewed.is_active
        assert once.state is SubscriptionState.ENDED
        assert once.ended.done()
