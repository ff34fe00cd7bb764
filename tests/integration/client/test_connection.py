"""DbConnection against the real server: calls, pipelining, subscriptions and the cache."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from nerv_inner_universe.client import (
    ArgumentError,
    DbConnection,
    EventContext,
    EventKind,
    Identity,
    QueryError,
    ReducerEvent,
    ReducerFailedError,
    ReducerStatus,
    Row,
    SchemaError,
    SpacetimeConnectionError,
    SpacetimeHttp,
    SubscriptionState,
    Timestamp,
    TokenStore,
    TypeRegistry,
    Variant,
)
from tests.integration.client.conftest import connect, eventually, metadata
from tests.integration.http_api import Database


async def test_call_and_result(conn: DbConnection) -> None:
    outcome = await conn.call_reducer("create_entity", "e1", "Person", metadata("Ann"))
    assert isinstance(outcome, ReducerEvent)
    assert outcome.status is ReducerStatus.COMMITTED
    assert outcome.reducer_name == "create_entity"
    assert outcome.args == ("e1", "Person", metadata("Ann"))
    assert outcome.caller_identity == conn.identity
    assert outcome.caller_connection_id == conn.connection_id
    assert outcome.energy_quanta_used > 0
    assert outcome.duration.micros >= 0
    assert outcome.timestamp.micros_since_epoch > 1_700_000_000_000_000
    (result,) = await conn.one_off_query("SELECT * FROM entity")
    assert result.table_name == "entity"
    assert [row.id for row in result.rows] == ["e1"]
    (kept,) = await conn.one_off_query("SELECT * FROM entity", each=lambda row: (row.id, row))
    assert kept.rows == (("e1", result.rows[0]),)  # each(row) of every decoded row

    def refuse(row: object) -> object:
        raise LookupError(f"not this row: {row}")

    with pytest.raises(LookupError, match="not this row"):
        await conn.one_off_query("SELECT * FROM entity", each=refuse)

    def by_name(names: tuple[str, ...]) -> Callable[[tuple[object, ...]], object]:
        assert names == result.rows[0].field_names  # the table's columns, in row order
        return lambda values: dict(zip(names, values, strict=True))

    (named,) = await conn.one_off_query("SELECT * FROM entity", columns=by_name)
    assert named.rows == (dict(result.rows[0]),)  # each row's column values, no Row built
    with pytest.raises(ArgumentError, match="each or columns, not both"):
        await conn.one_off_query("SELECT * FROM entity", each=refuse, columns=by_name)


async def test_a_failing_reducer_raises_with_its_message(conn: DbConnection) -> None:
    await conn.call_reducer("create_entity", "e1", "A", metadata())
    with pytest.raises(ReducerFailedError) as raised:
        await conn.call_reducer("create_entity", "e1", "B", metadata())
    assert raised.value.reducer == "create_entity"
    assert raised.value.reducer_message == (
        'already_exists: entity "e1" already exists with different content'
    )
    with pytest.raises(ReducerFailedError, match='not_found: entity "zz" does not exist'):
        await conn.call_reducer("delete_entity", "zz")
    assert (await conn.call_reducer("delete_entity", "e1")).status is ReducerStatus.COMMITTED


async def test_thousand_pipelined_calls_are_confirmed_in_order(
    conn: DbConnection, http: SpacetimeHttp, inner_universe: Database
) -> None:
    calls = [  # ten keys written 100 times each: the last value standing shows the order
        conn.call_reducer("update_config", f"app.k{i % 10}", str(i), None, timeout=60)
        for i in range(1000)
    ]
    outcomes = await asyncio.gather(*calls)
    assert all(o.status is ReducerStatus.COMMITTED for o in outcomes)
    request_ids = [o.request_id for o in outcomes]
    assert request_ids == sorted(request_ids)
    assert len(set(request_ids)) == 1000
    timestamps = [o.timestamp for o in outcomes]
    assert timestamps == sorted(timestamps)
    (config,) = await http.sql(inner_universe.name, "SELECT * FROM config")
    values = {row.key: row.value for row in config.rows if row.key.startswith("app.k")}
    assert values == {f"app.k{k}": str(990 + k) for k in range(10)}


async def test_pipelined_failures_reach_their_own_callers(conn: DbConnection) -> None:
    """Failures come back without a request id; each must still fail the right call."""

    async def call(i: int) -> Any:
        if i % 3 == 0:
            return await conn.call_reducer("delete_entity", f"missing-{i}")
        return await conn.call_reducer("create_entity", f"e{i}", "T", metadata())

    results = await asyncio.gather(*(call(i) for i in range(150)), return_exceptions=True)
    for i, result in enumerate(results):
        if i % 3 == 0:
            assert isinstance(result, ReducerFailedError)
            assert f'"missing-{i}" does not exist' in result.reducer_message
        else:
            assert isinstance(result, ReducerEvent)
            assert result.args is not None
            assert result.args[0] == f"e{i}"


async def test_subscription_callbacks_carry_the_reducer_call(conn: DbConnection) -> None:
    entity = conn.cache.table("entity")
    seen: list[tuple[str, EventContext, Any]] = []
    entity.on_insert(lambda ctx, row: seen.append(("insert", ctx, row)))
    entity.on_update(lambda ctx, old, new: seen.append(("update", ctx, (old, new))))
    entity.on_delete(lambda ctx, row: seen.append(("delete", ctx, row)))
    await conn.call_reducer("create_entity", "before", "T", metadata())
    handle = await conn.subscribe(["SELECT * FROM entity"])
    assert handle.state is SubscriptionState.ACTIVE
    assert [(kind, ctx.kind) for kind, ctx, _ in seen] == [("insert", EventKind.SUBSCRIBE_APPLIED)]
    seen.clear()

    created = await conn.call_reducer("create_entity", "e1", "T", metadata("one"))
    updated = await conn.call_reducer("update_entity", "e1", "T", metadata("two"))
    deleted = await conn.call_reducer("delete_entity", "e1")
    assert [kind for kind, _, _ in seen] == ["insert", "update", "delete"]
    for (_, ctx, _), outcome in zip(seen, (created, updated, deleted), strict=True):
        assert ctx.kind is EventKind.REDUCER
        assert ctx.reducer == outcome
        assert ctx.reducer is not None
        assert ctx.reducer.caller_identity == conn.identity
    old, new = seen[1][2]
    assert (old.metadata.name, new.metadata.name) == ("one", "two")
    assert entity.find("e1") is None
    assert entity.find("before") is not None


async def test_changes_by_other_clients_arrive_with_their_caller(
    conn: DbConnection, inner_universe: Database
) -> None:
    await conn.subscribe("SELECT * FROM entity")
    inserted: list[EventContext] = []
    conn.cache.table("entity").on_insert(lambda ctx, row: inserted.append(ctx))
    reducers: list[ReducerEvent] = []
    conn.on_reducer("create_entity", reducers.append)
    other_token = inner_universe.new_writer()
    async with DbConnection(
        inner_universe.base_url, inner_universe.name, token=other_token
    ) as other:
        await other.call_reducer("create_entity", "theirs", "T", metadata())
        await eventually(lambda: bool(inserted))
        (ctx,) = inserted
        assert ctx.reducer is not None
        assert ctx.reducer.caller_identity == other.identity != conn.identity
        assert ctx.reducer.caller_connection_id == other.connection_id
        assert reducers == [ctx.reducer]


async def test_cache_equals_the_server_after_random_changes(
    conn: DbConnection, http: SpacetimeHttp, inner_universe: Database
) -> None:
    await conn.subscribe(["SELECT * FROM entity", "SELECT * FROM config"])
    rng = random.Random(20241123)
    ids = [f"e{i}" for i in range(12)]
    for step in range(120):
        entity_id = rng.choice(ids)
        exists = conn.cache.table("entity").find(entity_id) is not None
        action = rng.random()
        if action < 0.2:
            await conn.call_reducer("update_config", f"app.c{rng.randrange(5)}", str(step), None)
        elif not exists:
            await conn.call_reducer("create_entity", entity_id, "T", metadata(str(step)))
        elif action < 0.6:
            tags = tuple(rng.sample(["a", "b", "c"], rng.randrange(3)))
            await conn.call_reducer("update_entity", entity_id, "U", metadata(str(step), tags=tags))
        else:
            await conn.call_reducer("delete_entity", entity_id)
    for table in ("entity", "config"):
        (server,) = await http.sql(inner_universe.name, f"SELECT * FROM {table}")  # noqa: S608
        assert set(conn.cache.table(table)) == set(server.rows)
        assert len(conn.cache.table(table)) == len(server.rows)


async def test_overlapping_subscriptions_and_unsubscribe(conn: DbConnection) -> None:
    await conn.call_reducer("create_entity", "a1", "A", metadata())
    await conn.call_reducer("create_entity", "b1", "B", metadata())
    everything = await conn.subscribe("SELECT * FROM entity")
    only_a = await conn.subscribe("SELECT * FROM entity WHERE entity_type = 'A'")
    entity = conn.cache.table("entity")
    deleted: list[tuple[EventKind, str]] = []
    entity.on_delete(lambda ctx, row: deleted.append((ctx.kind, row.id)))
    await everything.unsubscribe()
    assert everything.state is SubscriptionState.ENDED
    assert [row.id for row in entity] == ["a1"]  # still covered by the second query
    assert deleted == [(EventKind.UNSUBSCRIBE_APPLIED, "b1")]
    await only_a.unsubscribe()
    assert len(entity) == 0


async def test_refused_queries_leave_the_connection_usable(conn: DbConnection) -> None:
    with pytest.raises(QueryError, match="not a valid table"):
        await conn.subscribe("SELECT * FROM nope")
    with pytest.raises(QueryError, match="not a valid table"):
        await conn.one_off_query("SELECT * FROM nope")
    handle = await conn.subscribe("SELECT * FROM entity")
    assert handle.is_active


async def test_malformed_and_oversized_input_is_refused_and_the_connection_stays(
    conn: DbConnection, inner_universe: Database
) -> None:
    connection_id = conn.connection_id
    before = inner_universe.snapshot()
    with pytest.raises(ArgumentError, match=r"create_entity\.entity_type: expected str"):
        await conn.call_reducer("create_entity", "e1", 5, metadata())
    with pytest.raises(ArgumentError, match="takes 1 argument"):
        await conn.call_reducer("delete_entity")
    with pytest.raises(ArgumentError, match="lifecycle reducer"):
        await conn.call_reducer("init")
    with pytest.raises(SchemaError, match="no reducer 'nope'"):
        await conn.call_reducer("nope")
    with pytest.raises(ArgumentError, match="the server accepts at most"):
        await conn.call_reducer("create_entity", "e1", "T", metadata(properties="x" * (33 << 20)))
    with pytest.raises(ArgumentError, match="not valid Unicode"):
        await conn.call_reducer("delete_entity", "\udcff")
    with pytest.raises(ReducerFailedError, match="properties"):  # the module checks content
        await conn.call_reducer("create_entity", "e1", "T", metadata(properties="not json"))
    with pytest.raises(ReducerFailedError, match="limit is 128"):
        await conn.call_reducer("create_entity", "e" * 200, "T", metadata())
    assert inner_universe.snapshot() == before
    assert (await conn.call_reducer("create_entity", "e1", "T", metadata())).status is (
        ReducerStatus.COMMITTED
    )
    assert conn.connection_id == connection_id


async def test_connect_and_disconnect_callbacks(inner_universe: Database) -> None:
    events: list[str] = []
    connection = connect(inner_universe)
    connection.on_connect(lambda c, identity, token: events.append(f"connect {identity}"))
    connection.on_disconnect(lambda c, error: events.append(f"disconnect {error}"))
    async with connection:
        assert connection.is_connected
    assert events == [f"connect {connection.identity}", "disconnect None"]
    assert not connection.is_connected
    with pytest.raises(SpacetimeConnectionError, match="connect"):
        await connection.call_reducer("delete_entity", "x")


async def test_connect_errors_are_raised_and_reported() -> None:
    errors: list[Exception] = []
    connection = DbConnection("http://127.0.0.1:9", "nothing", connect_timeout=2)
    connection.on_connect_error(lambda c, error: errors.append(error))
    with pytest.raises(SpacetimeConnectionError):
        await connection.connect()
    assert len(errors) == 1


async def test_token_store_keeps_the_identity(inner_universe: Database, tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens")
    async with DbConnection(
        inner_universe.base_url, inner_universe.name, token_store=store
    ) as first:
        identity = first.identity
    assert store.load(inner_universe.base_url, inner_universe.name) == first.token
    async with DbConnection(
        inner_universe.base_url, inner_universe.name, token_store=store
    ) as second:
        assert second.identity == identity


async def test_rows_decode_into_python_values(conn: DbConnection) -> None:
    await conn.subscribe(["SELECT * FROM event_log"])
    await conn.call_reducer("create_entity", "e1", "T", metadata("Ann", tags=("x",)))
    events = [row for row in conn.cache.table("event_log") if row.event_type == "ENTITY_CREATED"]
    (event,) = events
    assert isinstance(event, Row)
    assert event.source == "e1"
    assert event.sender == conn.identity
    data = event.data
    assert isinstance(data, Variant)
    assert data.name == "EntityCreated"
    assert data.value == Row(entity_id="e1", entity_type="T", metadata=metadata("Ann", tags=("x",)))


async def test_reducer_callbacks_see_own_failures(conn: DbConnection) -> None:
    events: list[ReducerEvent] = []
    conn.on_reducer("delete_entity", events.append)
    with pytest.raises(ReducerFailedError):
        await conn.call_reducer("delete_entity", "missing")
    (event,) = events
    assert event.status is ReducerStatus.FAILED
    assert event.message == 'not_found: entity "missing" does not exist'
    assert event.args == ("missing",)
    assert event.request_id == 0  # what the 1.2.0 server reports for failures


@attrs.frozen
class EntityMetadata:
    name: str | None
    description: str | None
    tags: tuple[str, ...]
    properties: str


@attrs.frozen
class Entity:
    id: str
    entity_type: str
    created_at: Timestamp
    updated_at: Timestamp
    owner: Identity
    metadata: EntityMetadata


async def test_registered_classes_round_trip_through_the_server(inner_universe: Database) -> None:
    types = TypeRegistry()
    types.register("EntityMetadata", EntityMetadata)
    types.register("Entity", Entity)
    async with connect(inner_universe, types=types) as conn:
        await conn.subscribe("SELECT * FROM entity")
        outcome = await conn.call_reducer(
            "create_entity", "e1", "T", EntityMetadata("Ann", None, ("a",), "{}")
        )
        assert outcome.args == ("e1", "T", EntityMetadata("Ann", None, ("a",), "{}"))
        entity = conn.cache.table("entity").find("e1")
        assert isinstance(entity, Entity)
        assert entity.metadata == EntityMetadata("Ann", None, ("a",), "{}")
        assert entity.owner == conn.identity
