"""Replay reads deltas and versions split by `seq` range when they do not fit in one message,
against the real server: a runtime whose client accepts far less than the stored deltas and
versions together still starts and restores what a runtime with the default limit restores; a
single row over the limit fails with OversizedRowError naming its table and `seq`."""

from __future__ import annotations

import asyncio

import pytest

from nerv_inner_universe.client import DbConnection, MessageTooLargeError
from nerv_inner_universe.delta import JSON
from nerv_inner_universe.nerv import Nerv
from nerv_inner_universe.plugin import OversizedRowError
from nerv_inner_universe.plugin.reader import Reader
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config

SMALL_LIMIT = 1 << 20
"""The client's message limit here: one big row fits, all of them together do not."""
KEYS = 2_000
"""Operations in each big version and delta (the module allows 10,000 per call)."""
BIG = 8
"""Big versions and big deltas written."""


def big_state(n: int) -> dict[str, JSON]:
    """A state of `KEYS` keys, every value changed from ``n - 1``'s (about 200 kB of text)."""
    return {f"k{key:04}": f"{n}-{key}-" + "v" * 80 for key in range(KEYS)}


def write_big_history(runtime: Nerv) -> None:
    """`BIG` versions and `BIG` deltas, each of `KEYS` operations."""
    for n in range(BIG):
        runtime.temporal_store.commit(big_state(n), f"version {n}")
        runtime.state_projector.apply_delta(big_state(100 + n), f"delta {n}")
    runtime.event_bus.publish("SPLIT_DONE", {"versions": BIG, "deltas": BIG})


async def too_large_whole(db: Database, table: str) -> bool:
    """Whether reading ``table`` whole is over `SMALL_LIMIT` (the premise of these tests)."""
    async with DbConnection(
        db.base_url, db.name, token=db.token, max_message_bytes=SMALL_LIMIT
    ) as conn:
        try:
            await conn.one_off_query(f"SELECT * FROM {table}")  # noqa: S608 - a fixed name
        except MessageTooLargeError:
            return True
    return False


def test_a_small_message_limit_restores_what_the_default_limit_does(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="sync")
    first = runtimes(config)
    write_big_history(first)
    first.stop()
    assert asyncio.run(too_large_whole(inner_universe, "delta_record"))
    assert asyncio.run(too_large_whole(inner_universe, "state_version"))

    default = runtimes(config)
    small = runtimes(nerv_config(inner_universe, events="sync", max_message_bytes=SMALL_LIMIT))
    versions = default.temporal_store.get_history()
    assert [v.change_description for v in versions] == [f"version {n}" for n in range(BIG)]
    assert small.temporal_store.get_history() == versions
    assert small.temporal_store.get_current_version_id() == versions[-1].version_id
    assert default.state_projector.get_current_state() == big_state(100 + BIG - 1)
    assert small.state_projector.get_current_state() == big_state(100 + BIG - 1)
    deltas = default.state_projector.get_delta_history()
    assert len(deltas) == BIG
    assert small.state_projector.get_delta_history() == deltas
    assert [e.id for e in small.event_bus.get_history(limit=None)] == [
        e.id for e in default.event_bus.get_history(limit=None)
    ]

    # The small-limit runtime goes on from there like any other.
    small.state_projector.apply_delta({"after": True}, "after the split read")
    assert small.state_projector.get_current_state() == {**big_state(100 + BIG - 1), "after": True}


def test_a_delta_alone_over_the_limit_names_its_table_and_seq(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    runtime = runtimes(nerv_config(inner_universe, events="sync"))
    runtime.state_projector.apply_delta({"small": 1}, "small")
    runtime.state_projector.apply_delta(big_state(1), "big")
    runtime.stop()
    limit = 64 << 10

    async def scenario() -> tuple[int, OversizedRowError]:
        db = inner_universe
        async with DbConnection(db.base_url, db.name, token=db.token) as conn:
            (found,) = await conn.one_off_query("SELECT * FROM delta_record")
            big_seq = max(int(row.seq) for row in found.rows)
            stream = str(found.rows[0].stream)
        async with DbConnection(
            db.base_url, db.name, token=db.token, max_message_bytes=limit
        ) as conn:
            with pytest.raises(OversizedRowError) as raised:
                await Reader(conn).delta_rows(stream)
        return big_seq, raised.value

    big_seq, error = asyncio.run(scenario())
    assert (error.table, error.seq, error.limit) == ("delta_record", big_seq, limit)
    assert f"delta_record row seq={big_seq}" in str(error)
