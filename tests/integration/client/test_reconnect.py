"""Losing the server: calls in flight are never silently lost, and after the server comes back
on the same data dir the connection returns and the cache is reconciled."""

from __future__ import annotations

import asyncio

import pytest

from nerv_inner_universe.client import (
    EventKind,
    OutcomeUnknownError,
    ReconnectPolicy,
    ReducerEvent,
    SpacetimeConnectionError,
    SpacetimeHttp,
)
from tests.integration.client.conftest import connect, eventually, metadata
from tests.integration.http_api import Database

FSYNC_INTERVAL = 0.5
"""The 1.2.0 commit log is fsynced every 500 ms; a killed server may lose what is younger."""


async def test_reconnect_after_kill_reconciles_the_cache(
    isolated_inner_universe: Database,
) -> None:
    database = isolated_inner_universe
    # Long enough to restart the server and change rows before the client returns.
    policy = ReconnectPolicy(initial_delay=5.0, max_delay=5.0, jitter=0.0)
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
        await asyncio.sleep(FSYNC_INTERVAL * 2)
        first_connection = conn.connection_id
        events.clear()

        await asyncio.to_thread(database.server.kill)
        await eventually(lambda: not conn.is_connected)
        await asyncio.to_thread(database.server.start)
        async with SpacetimeHttp(database.base_url, token=database.token) as http:
            await http.call_reducer(
                database.name, "update_entity", ["change", "T", metadata("new")]
            )
            await http.call_reducer(database.name, "delete_entity", ["gone"])
            await http.call_reducer(database.name, "create_entity", ["new", "T", metadata()])
        assert not conn.is_connected, "the client came back before the changes were made"

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
    async with connect(database, reconnect=ReconnectPolicy(enabled=False)) as conn:
        calls = [
            asyncio.ensure_future(conn.call_reducer("update_config", f"app.k{i}", str(i), None))
            for i in range(2000)
        ]
        await eventually(lambda: sum(call.done() for call in calls) >= 50)
        await asyncio.to_thread(database.server.kill)
        results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)
    committed = [r for r in results if isinstance(r, ReducerEvent)]
    unknown = [r for r in results if isinstance(r, OutcomeUnknownError)]
    not_sent = [
        r
        for r in results
        if isinstance(r, SpacetimeConnectionError) and not isinstance(r, OutcomeUnknownError)
    ]
    assert len(committed) + len(unknown) + len(not_sent) == len(calls)
    assert committed, "some calls should have committed before the kill"
    assert unknown or not_sent, "the kill should have caught calls in flight"
    assert all("nothing was sent" in str(error) for error in not_sent)


async def test_after_giving_up_calls_fail_fast(isolated_inner_universe: Database) -> None:
    database = isolated_inner_universe
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.05, max_attempts=2)
    async with connect(database, reconnect=policy) as conn:
        await asyncio.to_thread(database.server.kill)
        await eventually(lambda: not conn.is_connected)
        await asyncio.sleep(1)
        with pytest.raises(SpacetimeConnectionError, match="nothing was sent"):
            await conn.call_reducer("delete_entity", "x", timeout=5)
