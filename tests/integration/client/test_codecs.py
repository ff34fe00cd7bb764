"""`JsonCodec` and `BsatnCodec` side by side on one database: the same calls, subscriptions,
one-off queries, failures and rows give the same values through both."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nerv_inner_universe.client import (
    AnswerTooLargeError,
    BsatnCodec,
    CodecFactory,
    DbConnection,
    JsonCodec,
    LazyRow,
    MessageTooLargeError,
    ReducerEvent,
    ReducerFailedError,
    RequestTooLargeError,
    Row,
    Timestamp,
)
from tests.integration.client.conftest import connect, eventually, metadata
from tests.integration.http_api import Database

TABLES = ("entity", "config", "event_log")
QUERIES = [f"SELECT * FROM {table}" for table in TABLES]  # noqa: S608 - constant names


def event(event_id: str, source: str | None) -> dict[str, object]:
    """A ``publish_event`` input: an Option, a Timestamp and JSON text."""
    return {
        "event_id": event_id,
        "event_type": "codec.check",
        "source": source,
        "occurred_at": Timestamp(1_764_400_000_123_456),
        "data": '{"n":1}',
        "metadata": "{}",
    }


def args(call: ReducerEvent) -> tuple[object, ...]:
    decoded = call.args
    assert decoded is not None
    return decoded


def seen(call: ReducerEvent) -> tuple[object, ...]:
    """What a caller learns of a call, but its request id and timing."""
    return (call.reducer_name, call.status, call.message, call.args, call.caller_identity)


async def failure(call: Awaitable[object]) -> str:
    with pytest.raises(ReducerFailedError) as raised:
        await call
    return str(raised.value)


async def test_both_codecs_give_the_same_values(inner_universe: Database) -> None:
    async with (
        connect(inner_universe, codec=JsonCodec) as by_json,
        connect(inner_universe, codec=BsatnCodec) as by_bsatn,
    ):
        assert by_json.identity == by_bsatn.identity  # one owner token
        heard: dict[str, list[tuple[object, ...]]] = {"json": [], "bsatn": []}
        by_json.on_reducer("create_entity", lambda call: heard["json"].append(args(call)))
        by_bsatn.on_reducer("create_entity", lambda call: heard["bsatn"].append(args(call)))
        by_bsatn.cache.table("event_log").stream(lazy=True)
        streamed: list[LazyRow] = []
        by_bsatn.cache.table("event_log").on_insert(lambda ctx, row: streamed.append(row))
        for conn in (by_json, by_bsatn):
            await conn.subscribe(QUERIES)

        made = [
            await by_bsatn.call_reducer("create_entity", "b1", "T", metadata("bé", tags=("x",))),
            await by_json.call_reducer("create_entity", "j1", "T", metadata(None)),
            await by_bsatn.call_reducer("update_config", "app.k", '"v"', "a description"),
            await by_json.call_reducer("update_config", "app.j", "1", None),
            await by_bsatn.call_reducer("publish_event", event("ev-b", "src")),
            await by_json.call_reducer("publish_event", event("ev-j", None)),
        ]
        assert [call.args for call in made[:2]] == [
            ("b1", "T", metadata("bé", tags=("x",))),
            ("j1", "T", metadata(None)),
        ]
        (log,) = await by_json.one_off_query("SELECT * FROM event_log")
        await eventually(lambda: len(by_json.cache.table("event_log")) == len(log.rows))
        await eventually(lambda: len(streamed) == len(log.rows))
        assert {row.decode() for row in streamed} == set(by_json.cache.table("event_log"))
        for table in ("entity", "config"):
            await eventually(same_rows(by_json, by_bsatn, table))
            assert len(by_bsatn.cache.table(table)) > 0
        await eventually(lambda: len(heard["json"]) == len(heard["bsatn"]) == 2)
        assert heard["json"] == heard["bsatn"]

        for query in [*QUERIES, "SELECT * FROM entity WHERE id = 'b1'"]:
            assert await rows(by_json, query) == await rows(by_bsatn, query)
        (published,) = await by_bsatn.one_off_query("SELECT * FROM event_log WHERE seq > 0")
        sources = {row.event_id: row.source for row in published.rows if isinstance(row, Row)}
        assert {sources["ev-b"], sources["ev-j"]} == {"src", None}

        pairs = ((by_bsatn, "b1"), (by_json, "j1"))
        for attempt in failing_calls():
            assert await failure(attempt(by_json)) == await failure(attempt(by_bsatn))
        deleted = [await conn.call_reducer("delete_entity", key) for conn, key in pairs]
        assert [seen(call) for call in deleted] == [
            ("delete_entity", made[0].status, None, ("b1",), by_bsatn.identity),
            ("delete_entity", made[0].status, None, ("j1",), by_json.identity),
        ]


def same_rows(one: DbConnection, other: DbConnection, table: str) -> Callable[[], bool]:
    return lambda: set(one.cache.table(table)) == set(other.cache.table(table))


def failing_calls() -> list[Callable[[DbConnection], Awaitable[object]]]:
    """Calls the module refuses (a failed reducer comes back with request id 0)."""
    return [
        lambda conn: conn.call_reducer("delete_entity", "missing"),
        lambda conn: conn.call_reducer("create_entity", "b1", "Other", metadata()),
        lambda conn: conn.call_reducer("update_config", "", "1", None),
    ]


async def rows(conn: DbConnection, query: str) -> list[tuple[str, list[Any]]]:
    """A one-off query's rows per table, in a stable order."""
    return [
        (result.table_name, sorted(result.rows, key=repr))
        for result in await conn.one_off_query(query)
    ]


async def test_the_message_limit_holds_for_both_codecs(
    inner_universe: Database, codec: CodecFactory
) -> None:
    big = metadata(properties=json.dumps({"text": "x" * 10_000}))
    async with connect(inner_universe, codec=codec) as conn:
        await conn.call_reducer("create_entity", "big", "T", big)
        await conn.call_reducer("create_entity", "small", "T", metadata())
    async with connect(inner_universe, codec=codec, max_message_bytes=4096) as small:
        with pytest.raises(MessageTooLargeError, match="limit of 4096 bytes"):
            await small.one_off_query("SELECT * FROM entity")
        (found,) = await small.one_off_query("SELECT * FROM entity WHERE id = 'small'")
        assert [row.id for row in found.rows] == ["small"]  # reconnected; small answers arrive


async def test_a_call_whose_answer_cannot_fit_the_limit_is_refused_before_sending(
    inner_universe: Database, codec: CodecFactory
) -> None:
    # The answer to a call echoes its arguments: with a 65,536-byte limit, a 70 KB value's
    # answer would drop the connection (outcome unknown) on every try.
    limit = 64 << 10
    key = f"echo.{codec.__name__.lower()}"
    query = f"SELECT * FROM config WHERE key = '{key}'"  # noqa: S608
    async with connect(inner_universe, codec=codec, max_message_bytes=limit) as small:
        with pytest.raises(AnswerTooLargeError, match=f"limit of {limit} bytes") as refused:
            await small.call_reducer("update_config", key, json.dumps("x" * 70_000), None)
        assert isinstance(refused.value, RequestTooLargeError)
        assert refused.value.size > limit
        assert refused.value.limit == limit
        assert "max_message_bytes" in str(refused.value)
        assert small.is_connected  # nothing was sent: no drop
        (before,) = await small.one_off_query(query)
        assert list(before.rows) == []  # nothing changed
        # A call whose answer fits goes through on the same connection.
        await small.call_reducer("update_config", key, json.dumps("x" * 1_000), None)
        (after,) = await small.one_off_query(query)
        assert [json.loads(row.value) for row in after.rows] == ["x" * 1_000]
