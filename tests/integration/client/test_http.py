"""The HTTP API against the real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    MAX_HTTP_BODY_BYTES,
    ArgumentError,
    Identity,
    NotFoundError,
    QueryError,
    ReducerFailedError,
    RequestTooLargeError,
    Row,
    SchemaError,
    SpacetimeConnectionError,
    SpacetimeHttp,
    Timestamp,
)
from nerv_inner_universe.controller import ServerProcess
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.client.conftest import connect, metadata
from tests.integration.http_api import Database


async def test_health_and_identity(server: ServerProcess) -> None:
    async with SpacetimeHttp(server.base_url) as http:
        assert (await http.health())["version"] == "1.2.0"
        credentials = await http.create_identity()
        assert isinstance(credentials.identity, Identity)
        assert credentials.token.count(".") == 2  # a JWT
        assert http.token is None


async def test_publish_info_and_delete(server: ServerProcess, machine: SetupResult) -> None:
    name = f"c-{uuid.uuid4().hex[:10]}"
    wasm = await asyncio.to_thread(Path(machine.module_wasm).read_bytes)
    async with SpacetimeHttp(server.base_url) as http:
        created = await http.publish(name, wasm)
        assert http.token is not None  # created on demand, and now the owner's credential
        assert created.op == "created"
        assert created.domain == name
        info = await http.database_info(name)
        assert info.database_identity == created.database_identity
        assert info.host_type == "Wasm"
        updated = await http.publish(name, wasm)
        assert updated.op == "updated"
        cleared = await http.publish(name, wasm, clear=True)
        assert cleared.database_identity == created.database_identity
        await http.delete(name)
        with pytest.raises(NotFoundError) as raised:
            await http.database_info(name)
        assert raised.value.status == 404


async def test_call_reducer_and_sql(http: SpacetimeHttp, inner_universe: Database) -> None:
    result = await http.call_reducer(
        inner_universe.name, "create_entity", ["e1", "Person", metadata("Ann", tags=("a",))]
    )
    assert result.energy_quanta_used is not None
    assert result.energy_quanta_used > 0
    (statement,) = await http.sql(inner_universe.name, "SELECT * FROM entity")
    assert statement.column_names[:2] == ("id", "entity_type")
    (row,) = statement.rows
    assert isinstance(row, Row)
    assert row.id == "e1"
    assert row.metadata == metadata("Ann", tags=("a",))
    assert isinstance(row.created_at, Timestamp)
    assert isinstance(row.owner, Identity)


async def test_a_failing_reducer_raises_with_its_message(
    http: SpacetimeHttp, inner_universe: Database
) -> None:
    await http.call_reducer(inner_universe.name, "create_entity", ["e1", "A", metadata()])
    with pytest.raises(ReducerFailedError) as raised:
        await http.call_reducer(inner_universe.name, "create_entity", ["e1", "B", metadata()])
    assert raised.value.reducer == "create_entity"
    assert 'already_exists: entity "e1" already exists' in raised.value.reducer_message
    logs = await http.logs(inner_universe.name, num_lines=50)
    assert any("already_exists" in record.message for record in logs)
    followed = http.follow_logs(inner_universe.name, num_lines=50)
    async for record in followed:
        if "already_exists" in record.message:
            assert record.level == "Error"
            break
    await followed.aclose()


async def test_arguments_are_checked_before_sending(
    http: SpacetimeHttp, inner_universe: Database
) -> None:
    before = inner_universe.snapshot()
    with pytest.raises(ArgumentError, match="takes 3 argument"):
        await http.call_reducer(inner_universe.name, "create_entity", ["e1"])
    bad_tags = Row(name=None, description=None, tags="x", properties="{}")
    with pytest.raises(ArgumentError, match=r"metadata\.tags: expected a list"):
        await http.call_reducer(inner_universe.name, "create_entity", ["e1", "A", bad_tags])
    with pytest.raises(SchemaError, match="no reducer 'nope'"):
        await http.call_reducer(inner_universe.name, "nope", [])
    assert inner_universe.snapshot() == before


async def test_schema_is_cached_until_refreshed(
    http: SpacetimeHttp, inner_universe: Database
) -> None:
    schema = await http.schema(inner_universe.name)
    assert await http.schema(inner_universe.name) is schema
    refreshed = await http.schema(inner_universe.name, refresh=True)
    assert refreshed is not schema
    assert refreshed.tables.keys() == schema.tables.keys()


async def test_sql_errors_and_unknown_databases(
    http: SpacetimeHttp, inner_universe: Database
) -> None:
    with pytest.raises(QueryError, match="not a valid table"):
        await http.sql(inner_universe.name, "SELECT * FROM nope")
    with pytest.raises(NotFoundError):
        await http.schema("no-such-database-here")


async def test_unreachable_server_is_a_connection_error() -> None:
    async with SpacetimeHttp("http://127.0.0.1:9", timeout=2) as http:
        with pytest.raises(SpacetimeConnectionError):
            await http.health()


async def test_a_call_over_the_http_body_limit_is_refused_before_sending_and_goes_over_ws(
    inner_universe: Database, http: SpacetimeHttp
) -> None:
    """spacetimedb-standalone 1.2.0 reads 2 MiB of a request body: an event of 3 MB, which
    ``max_event_bytes`` may allow, fails over HTTP with a reason and is sent over WebSocket."""
    limit = contract.update_config(
        key="max_event_bytes", value=str(4 * 1024 * 1024), description=None
    )
    await limit.send_http(http, inner_universe.name)
    data = json.dumps("x" * 3_000_000)
    event = contract.EventInput(
        event_id="big", event_type="T", source=None, occurred_at=Timestamp(0), data=data
    )
    with pytest.raises(RequestTooLargeError, match="over the server's HTTP request limit") as big:
        await contract.publish_event(event=event).send_http(http, inner_universe.name)
    assert big.value.limit == MAX_HTTP_BODY_BYTES == 2 * 1024 * 1024
    assert big.value.size > 3_000_000
    assert "WebSocket" in str(big.value)
    with pytest.raises(RequestTooLargeError):
        await http.sql(
            inner_universe.name, "SELECT * FROM config WHERE key = '" + "k" * 3_000_000 + "'"
        )
    stored = await http.sql(
        inner_universe.name, "SELECT event_id FROM event_log WHERE event_id = 'big'"
    )
    assert len(stored[0].rows) == 0

    async with connect(inner_universe) as conn:
        await contract.publish_event(event=event).send(conn)
    stored = await http.sql(
        inner_universe.name, "SELECT event_id FROM event_log WHERE event_id = 'big'"
    )
    assert len(stored[0].rows) == 1
