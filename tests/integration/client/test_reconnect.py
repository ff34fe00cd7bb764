"""Losing the server: calls in flight are never silently lost, and after the server comes back
on the same data dir the connection returns and the cache is reconciled."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from nerv_inner_universe.client import (
    EventKind,
    OutcomeUnknownError,
    ReconnectPolicy,
    ReducerEvent,
    SpacetimeConnectionError,
    SpacetimeHttp,
)
from nerv_inner_universe.controller import ServerProcess, free_port
from tests.integration.client.conftest import connect, eventually, metadata
from tests.integration.http_api import Database


async def test_reconnect_after_kill_reconciles_the_cache(
    isolated_inner_universe: Database,
) -> None:
    database = isolated_inner_universe
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, jitter=0.0)
    events: list[tuple[str, EventKind, str]] = []
    disconnects: list[Exception | None] = []
    async with connect(database, reconnect=policy) as conn:
        entity = conn.cache.table("entity")
        entity.on_insert(lambda ctx, row: events.append(("insert", ctx.kind, row.id)))
        entity.on_update(lambda ctx, old, new: events.append(("update", ctx.kind, new.id)))
        entity.on_delete(lambda ctx, row: events.append(("delete", ctx.kind, row.id)))
        conn.on_disconnect(lambda c, error: disconnects.append(error))
        await conn.subscribe("SELECT * FROM entity")
        for entity_id in ("keep", "change", "gone"):
            await conn.call_reducer("create_entity", entity_id, "T", metadata("old"))
        # A SIGKILL loses what is not yet in the commit log: wait until these rows are.
        await asyncio.to_thread(database.server.make_durable)
        first_connection = conn.connection_id
        events.clear()

        await asyncio.to_thread(database.server.kill)
        await eventually(lambda: not conn.is_connected)
        # The rows change while the client cannot come back: on a port it does not know.
        elsewhere = ServerProcess(database.server.binary, database.server.root, port=free_port())
        await elsewhere.start_async()
        elsewhere.register_database(database.name, database.token)
        async with SpacetimeHttp(elsewhere.base_url, token=database.token) as http:
            await http.call_reducer(
                database.name, "update_entity", ["change", "T", metadata("new")]
            )
            await http.call_reducer(database.name, "delete_entity", ["gone"])
            await http.call_reducer(database.name, "create_entity", ["new", "T", metadata()])
        await asyncio.to_thread(elsewhere.stop)
        assert not conn.is_connected
        await database.server.start_async()

        await eventually(lambda: conn.is_connected, within=30)
        await eventually(lambda: len(events) == 3)
        assert sorted(events) == [
            ("delete", EventKind.RECONCILED, "gone"),
            ("insert", EventKind.RECONCILED, "new"),
            ("update", EventKind.RECONCILED, "change"),
        ]
        assert conn.connection_id != first_connection
        assert len(disconnects) == 1
        assert isinstance(disconnects[0], SpacetimeConnectionError)
        async with SpacetimeHttp(database.base_url, token=database.token) as http:
            (server,) = await http.sql(database.name, "SELECT * FROM entity")
        assert set(entity) == set(server.rows)

        outcome = await conn.call_reducer("create_entity", "after", "T", metadata())
        assert outcome.caller_connection_id == conn.connection_id
        assert entity.find("after") is not None


async def test_calls_in_flight_when_the_server_dies_are_never_silently_lost(
    isolated_inner_universe: Database,
) -> None:
    database = isolated_inner_universe
    server_pid = database.server.pid
    assert server_pid is not None
    async with connect(database, reconnect=ReconnectPolicy(enabled=False)) as conn:
        before = [
            await conn.call_reducer("update_config", f"app.k{i}", str(i), None) for i in range(50)
        ]
        # Frozen, the server answers nothing: every call from here on is in flight (or not
        # yet sent) when the kill lands, however fast or slow this machine is.
        os.killpg(server_pid, signal.SIGSTOP)
        calls = [
            asyncio.ensure_future(conn.call_reducer("update_config", f"app.k{i}", str(i), None))
            for i in range(50, 2000)
        ]
        await eventually(lambda: conn.calls_in_flight >= 1)
        await asyncio.to_thread(database.server.kill)
        results = [
            *before,
            *await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30),
        ]
    committed = [r for r in results if isinstance(r, ReducerEvent)]
    unknown = [r for r in results if isinstance(r, OutcomeUnknownError)]
    not_sent = [
        r
        for r in results
        if isinstance(r, SpacetimeConnectionError) and not isinstance(r, OutcomeUnknownError)
    ]
    assert len(committed) + len(unknown) + len(not_sent) == 2000
    assert len(committed) == 50, "only the calls answered before the freeze committed"
    assert unknown, "the kill caught calls in flight"
    assert all("nothing was sent" in str(error) for error in not_sent)


async def test_after_giving_up_calls_fail_fast(isolated_inner_universe: Database) -> None:
    database = isolated_inner_universe
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.05, max_attempts=2)
    async with connect(database, reconnect=policy) as conn:
        await asyncio.to_thread(database.server.kill)
        await eventually(lambda: conn.is_closed)
        # "still reconnecting after 60 s" would mean it waited: closed means it failed at once.
        with pytest.raises(SpacetimeConnectionError, match="closed; nothing was sent"):
            await conn.call_reducer("delete_entity", "x", timeout=60)
