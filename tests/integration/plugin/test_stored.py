"""`Reader.stored`: the primary-key lookup the writer uses after a reconnect to find which kept
writes the server lacks, against the real module (1.2.0's SQL, its tables and keys)."""

from __future__ import annotations

import asyncio

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, Timestamp
from nerv_inner_universe.delta import data_hash
from nerv_inner_universe.plugin.reader import Reader
from tests.integration.http_api import Database


def root_version(version_id: str) -> contract.ReducerCall:
    """A root version with the empty state on timeline ``t``."""
    return contract.commit_state_version(
        version_id=version_id,
        timeline="t",
        parent_version_id=None,
        occurred_at=Timestamp(0),
        description="root",
        data_hash=data_hash({}),
        operations=[],
        snapshot="{}",
    )


def test_stored_finds_events_versions_and_deltas_by_id(inner_universe: Database) -> None:
    async def scenario() -> list[bool]:
        event = contract.EventInput(
            event_id="e1", event_type="T", source=None, occurred_at=Timestamp(0), data="1"
        )
        version = root_version("v1")
        delta = contract.record_delta(
            delta_id="s:1",
            stream="s",
            state_version_id="v1",
            occurred_at=Timestamp(0),
            operations=[],
            metadata=contract.DeltaMetadata(description="d"),
        )
        other = contract.publish_event(
            event=contract.EventInput(
                event_id="never", event_type="T", source=None, occurred_at=Timestamp(0), data="1"
            )
        )
        async with DbConnection(
            inner_universe.base_url, inner_universe.name, token=inner_universe.token
        ) as connection:
            reader = Reader(connection)
            before = [await reader.stored(call) for call in (version, delta)]
            for call in (contract.publish_event(event=event), version, delta):
                await call.send(connection)
            after = [
                await reader.stored(call)
                for call in (contract.publish_event(event=event), version, delta, other)
            ]
            unknown = await reader.stored(contract.set_client_info(client_info="x"))
            return [*before, *after, unknown]

    assert asyncio.run(scenario()) == [False, False, True, True, True, False, False]
