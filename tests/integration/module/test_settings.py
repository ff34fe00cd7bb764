"""The settings the module reads are typed, range-checked and admin-only, and
`max_connections` is enforced when a client connects (issue 13, item 5). Against the real
server."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    ConnectionRefusedByModuleError,
    DbConnection,
    Timestamp,
)
from nerv_inner_universe.contract import ErrorCode, EventInput, ReducerRefusedError, Refusal
from tests.integration.client.conftest import eventually
from tests.integration.http_api import NONE, Database, event_input, some
from tests.integration.module.conftest import Refused


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("snapshot_interval", "0", "an integer from 1 to 10000"),
        ("snapshot_interval", "1000000000", "an integer from 1 to 10000"),
        ("snapshot_interval", "2.0", "an integer from 1 to 10000"),
        ("max_connections", "-1", "an integer from 1 to 100000"),
        ("auth_required", '"false"', "true or false"),
        ("timeout", "0", "a number of seconds above 0 and at most 86400"),
    ],
)
def test_settings_are_typed_and_bounded(
    inner_universe: Database, refused: Refused, key: str, value: str, expected: str
) -> None:
    refused(
        "update_config",
        key,
        value,
        NONE,
        expect=f"invalid_argument: {key} is {value}; it must be {expected}",
    )


def test_settings_are_admin_only(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    user = db.new_identity()
    for key, value in (
        ("snapshot_interval", "1"),
        ("max_connections", "1"),
        ("max_event_bytes", "2048"),
        ("auth_required", "false"),
        ("timeout", "5.0"),
    ):
        refused(
            "update_config",
            key,
            value,
            NONE,
            token=user,
            expect=f'permission_denied: config key "{key}" is admin-only',
        )
    db.ok("update_config", "snapshot_interval", "10000", NONE)
    db.ok("update_config", "timeout", "2", some("seconds"))
    config = {r["key"]: r["value"] for r in db.sql("SELECT * FROM config")}
    assert (config["snapshot_interval"], config["timeout"]) == ("10000", "2")


def test_other_values_are_bounded(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    refused(
        "update_config",
        "app.blob",
        '"' + "x" * 70_000 + '"',
        NONE,
        expect='invalid_argument: the value of "app.blob" is 70002 bytes; the limit is 65536',
    )
    db.ok("update_config", "app.blob", '"' + "x" * 1000 + '"', NONE)


async def test_max_connections_is_enforced_for_all_but_admins(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("update_config", "max_connections", "1", NONE)
    holder, other = db.new_writer(), db.new_writer()
    async with DbConnection(db.base_url, db.name, token=holder):
        assert len(db.sql("SELECT * FROM client_connection")) == 1
        response = db.call("publish_event", event_input("ev-1"), token=other)
        # `client_connected` refused the call's connection: the server answers 403
        assert response.status_code == 403
        refusal = Refusal.parse(response.text)
        assert refusal.code is ErrorCode.RESOURCE_EXHAUSTED
        assert refusal.message.startswith("1 connections are open and max_connections is 1")
        with pytest.raises(ConnectionRefusedByModuleError) as refused:
            async with DbConnection(db.base_url, db.name, token=other, connect_timeout=10):
                pass
        assert refused.value.reason is not None
        assert refused.value.reason.startswith("resource_exhausted: 1 connections are open")
        assert "refused by the module's client_connected reducer" in str(refused.value)
        db.ok("publish_event", event_input("ev-admin"))  # the admin is always admitted
    await eventually(lambda: db.sql("SELECT * FROM client_connection") == [])
    db.ok("publish_event", event_input("ev-1"), token=other)
    ids = {r["event_id"] for r in db.sql("SELECT * FROM event_log")}
    assert {"ev-admin", "ev-1"} <= ids


async def test_identities_without_a_role_hold_at_most_half_the_connections(
    inner_universe: Database,
) -> None:
    """Anyone can mint identities: with auth_required, role-less connections must not lock
    writers out (issue 13). max_connections 3: role-less ones may hold 1."""
    db = inner_universe
    db.ok("update_config", "max_connections", "3", NONE)
    first, second, writer = db.new_identity(), db.new_identity(), db.new_writer()
    async with DbConnection(db.base_url, db.name, token=first):
        with pytest.raises(ConnectionRefusedByModuleError) as refused:
            async with DbConnection(db.base_url, db.name, token=second, connect_timeout=10):
                pass
        reason = refused.value.reason
        assert reason is not None
        assert reason.startswith("resource_exhausted: ")
        assert "they may hold at most half of max_connections (3)" in reason
        async with DbConnection(db.base_url, db.name, token=writer) as conn:
            await contract.publish_event(
                event=EventInput(
                    event_id="ev-w", event_type="T", source=None, occurred_at=Timestamp(0), data="1"
                )
            ).send(conn)
            assert len(db.sql("SELECT * FROM client_connection")) == 2
        # Without auth_required every identity may write: no share applies.
        db.ok("update_config", "auth_required", "false", NONE)
        async with DbConnection(db.base_url, db.name, token=second):
            assert len(db.sql("SELECT * FROM client_connection")) == 2
    assert "ev-w" in {r["event_id"] for r in db.sql("SELECT * FROM event_log")}


def test_events_are_bounded_per_event_and_per_call(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    refused(
        "update_config",
        "max_event_bytes",
        "100",
        NONE,
        expect="invalid_argument: max_event_bytes is 100; it must be an integer from 1024",
    )
    db.ok("update_config", "max_event_bytes", "2048", NONE)
    big = '"' + "x" * 2100 + '"'
    refused(
        "publish_event",
        event_input("ev-big", data=big),
        expect='invalid_argument: event 0 ("ev-big") has 2104 bytes of data and metadata; '
        "max_event_bytes is 2048",
    )
    db.ok("publish_event", event_input("ev-small", data='"' + "x" * 1000 + '"'))


async def test_a_call_carries_at_most_4_mib_of_events(inner_universe: Database) -> None:
    """Over a WebSocket (the server takes at most 4 MiB in an HTTP body anyway)."""
    db = inner_universe
    db.ok("update_config", "max_event_bytes", str(4 * 1024 * 1024), NONE)
    mib = '"' + "x" * (1024 * 1024) + '"'

    def events(count: int) -> list[EventInput]:
        return [
            EventInput(
                event_id=f"ev-{i}",
                event_type="AGENT_STEP",
                source=None,
                occurred_at=Timestamp(1_700_000_000_000_000),
                data=mib,
            )
            for i in range(count)
        ]

    async with DbConnection(db.base_url, db.name, token=db.token) as connection:
        before = db.snapshot()
        with pytest.raises(ReducerRefusedError) as refused:
            await contract.publish_events(events=events(4)).send(connection)
        assert refused.value.code is ErrorCode.INVALID_ARGUMENT
        assert refused.value.refusal.message == (
            "the events have 4194320 bytes of data and metadata together; the limit is "
            "4194304 per call"
        )
        assert db.snapshot() == before
        await contract.publish_events(events=events(3)).send(connection)
    stored = db.sql("SELECT event_id FROM event_log WHERE event_type = 'AGENT_STEP'")
    assert sorted(row["event_id"] for row in stored) == ["ev-0", "ev-1", "ev-2"]
