"""Client cache semantics with synthetic updates: counting, updates by primary key, reconcile."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.client import (
    ClientCache,
    EventContext,
    EventKind,
    ModuleSchema,
    Row,
    SchemaError,
    TableCache,
)
from nerv_inner_universe.client.cache import TableRows

REDUCER = EventContext(EventKind.REDUCER)


def row(key: str, value: int = 0) -> Row:
    return Row(id=key, value=value)


class Recorder:
    """Collects a table's callbacks as (kind, ctx kind, rows...) tuples."""

    def __init__(self, table: TableCache) -> None:
        self.events: list[tuple[Any, ...]] = []
        table.on_insert(lambda ctx, r: self.events.append(("insert", ctx.kind, r)))
        table.on_delete(lambda ctx, r: self.events.append(("delete", ctx.kind, r)))
        table.on_update(lambda ctx, old, new: self.events.append(("update", ctx.kind, old, new)))


def test_insert_update_delete_by_primary_key() -> None:
    table = TableCache("t", ("id",))
    recorder = Recorder(table)
    table.notify(REDUCER, table.apply([row("a"), row("b")], []))
    table.notify(REDUCER, table.apply([row("a", 1)], [row("a")]))
    table.notify(REDUCER, table.apply([], [row("b")]))
    assert recorder.events == [
        ("insert", EventKind.REDUCER, row("a")),
        ("insert", EventKind.REDUCER, row("b")),
        ("update", EventKind.REDUCER, row("a"), row("a", 1)),
        ("delete", EventKind.REDUCER, row("b")),
    ]
    assert table.rows() == [row("a", 1)]
    assert table.find("a") == row("a", 1)
    assert table.find("b") is None
    assert len(table) == 1
    assert row("a", 1) in table


def test_overlapping_subscriptions_count_references() -> None:
    table = TableCache("t", ("id",))
    recorder = Recorder(table)
    table.notify(REDUCER, table.apply([row("a"), row("a")], []))  # two queries match it
    table.notify(REDUCER, table.apply([], [row("a")]))  # one query lets go
    assert list(table) == [row("a")]
    table.notify(REDUCER, table.apply([], [row("a")]))
    assert list(table) == []
    assert [e[0] for e in recorder.events] == ["insert", "delete"]


def test_in_and_out_within_one_message_reports_nothing() -> None:
    table = TableCache("t", ("id",))
    recorder = Recorder(table)
    diff = table.apply([row("a")], [row("a")])
    assert not diff
    table.notify(REDUCER, diff)
    assert recorder.events == []
    assert len(table) == 0


def test_unknown_deletes_are_counted_not_applied() -> None:
    table = TableCache("t", ("id",))
    diff = table.apply([], [row("ghost")])
    assert diff.unknown_deletes == 1
    assert len(table) == 0


def test_tables_without_primary_key_are_multisets_without_updates() -> None:
    table = TableCache("log")
    recorder = Recorder(table)
    table.notify(REDUCER, table.apply([row("a"), row("a", 1)], []))
    table.notify(REDUCER, table.apply([row("a", 2)], [row("a")]))
    assert [e[0] for e in recorder.events] == ["insert", "insert", "delete", "insert"]
    with pytest.raises(SchemaError, match="no primary key"):
        table.find("a")


def test_composite_primary_key() -> None:
    table = TableCache("t", ("id", "value"))
    table.apply([row("a", 1), row("a", 2)], [])
    assert table.find(("a", 2)) == row("a", 2)


def test_reconcile_reports_the_difference(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    table = cache.table("entity")
    recorder = Recorder(table)
    table.apply([row("keep"), row("change"), row("gone")], [])
    fresh = ClientCache(schema)
    fresh.table("entity").apply([row("keep"), row("change", 1), row("new")], [])
    diffs = cache.reconcile(fresh, EventContext(EventKind.RECONCILED))
    assert sorted(recorder.events, key=repr) == sorted(
        [
            ("delete", EventKind.RECONCILED, row("gone")),
            ("update", EventKind.RECONCILED, row("change"), row("change", 1)),
            ("insert", EventKind.RECONCILED, row("new")),
        ],
        key=repr,
    )
    assert set(table) == {row("keep"), row("change", 1), row("new")}
    assert table.find("change") == row("change", 1)
    assert table.find("gone") is None
    assert len(diffs["entity"].updates) == 1
    assert not diffs["config"]


def test_callbacks_see_the_whole_message_applied(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    seen: list[int] = []
    cache.table("entity").on_insert(lambda ctx, r: seen.append(len(cache.table("config"))))
    cache.apply(
        [
            TableRows("entity", inserts=[Row(id="e")]),
            TableRows("config", inserts=[Row(key="k")]),
        ],
        REDUCER,
    )
    assert seen == [1]


def test_a_failing_callback_does_not_stop_the_others() -> None:
    table = TableCache("t", ("id",))
    seen: list[Row] = []

    def broken(ctx: EventContext, r: Row) -> None:
        raise RuntimeError("boom")

    table.on_insert(broken)
    table.on_insert(lambda ctx, r: seen.append(r))
    table.notify(REDUCER, table.apply([row("a")], []))
    assert seen == [row("a")]


def test_callbacks_can_be_removed() -> None:
    table = TableCache("t", ("id",))
    seen: list[Row] = []
    callback_id = table.on_insert(lambda ctx, r: seen.append(r))
    assert table.remove_callback(callback_id)
    assert not table.remove_callback(callback_id)
    table.notify(REDUCER, table.apply([row("a")], []))
    assert seen == []


def test_unknown_table_names_what_exists(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    assert "entity" in cache.table_names()
    with pytest.raises(SchemaError, match="no table 'nope' in the cache; tables: admin"):
        cache.table("nope")


def test_schema_change_keeps_tables_and_follows_the_key(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    table = cache.table("entity")
    table.apply([Row(id="e", kind="x")], [])
    table.set_primary_key(("kind",))
    assert table.find("x") == Row(id="e", kind="x")
    cache.adopt_schema(schema)
    assert cache.table("entity") is table
    assert table.primary_key == ("id",)
    assert table.find("e") == Row(id="e", kind="x")


def test_clear_deletes_everything(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    recorder = Recorder(cache.table("entity"))
    cache.apply([TableRows("entity", inserts=[Row(id="e")])], REDUCER)
    cache.clear(EventContext(EventKind.SUBSCRIPTIONS_DROPPED))
    assert recorder.events[-1] == ("delete", EventKind.SUBSCRIPTIONS_DROPPED, Row(id="e"))
    assert len(cache.table("entity")) == 0


operations = st.lists(
    st.tuples(st.booleans(), st.sampled_from("abcd"), st.integers(0, 2)), max_size=30
)


@given(operations)
def test_callbacks_replay_to_the_cache_contents(ops: list[tuple[bool, str, int]]) -> None:
    """Following only the callbacks reproduces the cache, whatever the server sends."""
    table = TableCache("t", ("id",))
    mirror: dict[str, Row] = {}
    table.on_insert(lambda ctx, r: mirror.__setitem__(r.id, r))
    table.on_delete(lambda ctx, r: mirror.pop(r.id))
    table.on_update(lambda ctx, old, new: mirror.__setitem__(new.id, new))
    for insert, key, value in ops:
        current = table.find(key)
        if insert and current is None:
            table.notify(REDUCER, table.apply([row(key, value)], []))
        elif insert and current is not None:
            table.notify(REDUCER, table.apply([row(key, value)], [current]))
        elif current is not None:
            table.notify(REDUCER, table.apply([], [current]))
    assert mirror == {r.id: r for r in table}


def test_a_streamed_table_reports_every_row_and_keeps_none(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    table = cache.table("entity")
    table.apply([row("before")], [])
    table.stream()
    assert table.is_streamed
    assert not table.is_lazy
    assert not cache.is_lazy("entity")
    assert len(table) == 0, "rows held before streaming are dropped"
    recorder = Recorder(table)
    cache.apply([TableRows("entity", [row("a"), row("b")])], REDUCER)
    cache.apply([TableRows("entity", [row("a", 1)], [row("a")])], REDUCER)
    assert recorder.events == [
        ("insert", EventKind.REDUCER, row("a")),
        ("insert", EventKind.REDUCER, row("b")),
        ("delete", EventKind.REDUCER, row("a")),
        ("insert", EventKind.REDUCER, row("a", 1)),
    ]
    assert len(table) == 0
    assert table.find("a") is None
    recorder.events.clear()
    fresh = ClientCache(schema)
    fresh.table("entity").apply([row("c"), row("d")], [])
    cache.reconcile(fresh, EventContext(EventKind.RECONCILED))
    assert sorted(recorder.events, key=repr) == [
        ("insert", EventKind.RECONCILED, row("c")),
        ("insert", EventKind.RECONCILED, row("d")),
    ]
    assert len(table) == 0
    cache.adopt_schema(schema)
    assert table.is_streamed, "a schema change keeps the table streamed"


def test_on_inserts_gets_a_messages_inserted_rows_in_one_call_after_on_insert() -> None:
    table = TableCache("t", ("id",))
    calls: list[tuple[Any, ...]] = []
    table.on_insert(lambda _ctx, r: calls.append(("insert", r)))
    batch = table.on_inserts(lambda ctx, rows: calls.append(("inserts", ctx.kind, rows)))
    table.notify(REDUCER, table.apply([row("a"), row("b")], []))
    table.notify(REDUCER, table.apply([row("a", 1)], [row("a")]))  # an update, no insert
    table.notify(REDUCER, table.apply([], [row("b")]))
    assert calls == [
        ("insert", row("a")),
        ("insert", row("b")),
        ("inserts", EventKind.REDUCER, (row("a"), row("b"))),
    ]
    assert table.remove_callback(batch)
    calls.clear()
    table.notify(REDUCER, table.apply([row("c")], []))
    assert calls == [("insert", row("c"))]


def test_a_lazily_streamed_table_says_so(schema: ModuleSchema) -> None:
    cache = ClientCache(schema)
    cache.table("entity").stream(lazy=True)
    assert cache.table("entity").is_streamed
    assert cache.is_lazy("entity")
    assert not cache.is_lazy("relation")
    assert not cache.is_lazy("no_such_table")
