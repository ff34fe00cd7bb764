"""`BlockingConnection` against the real server: calls on the calling thread in each wire
format, refusals, the module's connection cap, a server that goes away, and `close` from
another thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nerv_inner_universe.client import (
    BlockingConnection,
    BsatnCodec,
    CodecFactory,
    ConnectionRefusedByModuleError,
    DbConnection,
    ModuleSchema,
    OutcomeUnknownError,
    ReducerFailedError,
    ReducerStatus,
    SpacetimeConnectionError,
    SpacetimeHttp,
)
from tests.integration.client.conftest import eventually, metadata
from tests.integration.http_api import NONE, Database


async def module_schema(db: Database) -> ModuleSchema:
    async with SpacetimeHttp(db.base_url, token=db.token) as http:
        return await http.schema(db.name)


def blocking(
    db: Database, schema: ModuleSchema, codec: CodecFactory, token: str | None = None
) -> BlockingConnection:
    return BlockingConnection(
        db.base_url, db.name, schema, token=token or db.token, codec=codec, call_timeout=60
    )


async def test_calls_on_this_thread_commit_in_order(
    inner_universe: Database, codec: CodecFactory
) -> None:
    db = inner_universe
    with blocking(db, await module_schema(db), codec) as conn:
        first = conn.call_reducer("create_entity", "e1", "Person", metadata("Ann"))
        second = conn.call_reducer("create_entity", "e2", "Person", metadata("Bob"))
        assert len(db.sql("SELECT * FROM client_connection")) == 1
    assert first.status is ReducerStatus.COMMITTED
    assert first.args == ("e1", "Person", metadata("Ann"))
    assert first.caller_connection_id == conn.connection_id
    assert first.caller_identity == conn.identity
    assert second.request_id != first.request_id
    assert second.timestamp.micros_since_epoch >= first.timestamp.micros_since_epoch
    assert sorted(row["id"] for row in db.sql("SELECT * FROM entity")) == ["e1", "e2"]
    await eventually(lambda: db.sql("SELECT * FROM client_connection") == [])


async def test_a_refused_call_raises_and_changes_nothing(
    inner_universe: Database, codec: CodecFactory
) -> None:
    db = inner_universe
    with blocking(db, await module_schema(db), codec) as conn:
        conn.call_reducer("create_entity", "e1", "Person", metadata("Ann"))
        before = db.snapshot()
        with pytest.raises(ReducerFailedError, match="already_exists"):
            conn.call_reducer("create_entity", "e1", "Place", metadata("Elsewhere"))
        assert db.snapshot() == before
        again = conn.call_reducer("create_entity", "e2", "Person", metadata("Bob"))
        assert again.status is ReducerStatus.COMMITTED


async def test_the_module_connection_cap_counts_it(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("update_config", "max_connections", "1", NONE)
    schema = await module_schema(db)
    holder, other = db.new_writer(), db.new_writer()
    async with DbConnection(db.base_url, db.name, token=holder):
        conn = blocking(db, schema, BsatnCodec, token=other)
        with pytest.raises(ConnectionRefusedByModuleError) as refused:
            conn.connect()
        assert refused.value.reason is not None
        assert refused.value.reason.startswith("resource_exhausted: 1 connections are open")
        assert not conn.is_connected


async def test_close_from_another_thread_ends_a_waiting_call(
    inner_universe: Database, codec: CodecFactory
) -> None:
    db = inner_universe
    conn = blocking(db, await module_schema(db), codec)
    conn.connect()
    started = threading.Event()
    outcome: list[BaseException | None] = []

    def publish_many() -> None:
        started.set()
        try:
            for n in range(100_000):
                conn.call_reducer("create_entity", f"e{n}", "Person", metadata())
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    caller = threading.Thread(target=publish_many)
    caller.start()
    assert started.wait(30)
    await eventually(lambda: len(db.sql("SELECT * FROM entity")) >= 5, within=60)
    conn.close()
    caller.join(30)
    assert not caller.is_alive()
    (error,) = outcome
    # closed while it waited for an answer, or between two calls: never a hang
    assert isinstance(error, SpacetimeConnectionError)
    assert isinstance(error, OutcomeUnknownError) or "closed" in str(error)
    with pytest.raises(SpacetimeConnectionError, match="closed"):
        conn.call_reducer("create_entity", "late", "Person", metadata())


async def test_a_killed_server_fails_the_call_and_connect_opens_again(
    isolated_inner_universe: Database,
) -> None:
    db = isolated_inner_universe
    schema = await module_schema(db)
    with blocking(db, schema, BsatnCodec) as conn:
        conn.call_reducer("create_entity", "e1", "Person", metadata())
        first_connection = conn.connection_id
        await asyncio.to_thread(db.server.make_durable)
        await asyncio.to_thread(db.server.kill)
        with pytest.raises(SpacetimeConnectionError):
            conn.call_reducer("create_entity", "e2", "Person", metadata())
        assert not conn.is_connected
        with pytest.raises(SpacetimeConnectionError, match="cannot open"):
            conn.connect()
        await db.server.start_async()
        conn.connect()
        conn.call_reducer("create_entity", "e3", "Person", metadata())
        assert conn.connection_id != first_connection
    assert {"e1", "e3"} <= {row["id"] for row in db.sql("SELECT * FROM entity")}
