"""The per-identity write budget (``write_budget_*``) and the cap on config keys (issue 13,
item 6), against the real server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.contract import ErrorCode, Refusal
from tests.integration.http_api import NONE, Database, event_input
from tests.integration.module.conftest import Refused

HOUR = "3600"


def micros(value: list[int]) -> int:
    """A Timestamp column as the SQL API's JSON gives it: ``[micros since the epoch]``."""
    [count] = value
    return count


def stored_ids(db: Database) -> set[str]:
    return {r["event_id"] for r in db.sql("SELECT event_id FROM event_log")}


def budget(db: Database, *, events: int = 0, bytes_: int = 0, window: str = HOUR) -> None:
    db.ok("update_config", contract.WRITE_BUDGET_WINDOW_KEY, window, NONE)
    db.ok("update_config", contract.WRITE_BUDGET_EVENTS_KEY, str(events), NONE)
    db.ok("update_config", contract.WRITE_BUDGET_BYTES_KEY, str(bytes_), NONE)


def test_the_budget_is_off_by_default_and_admin_only(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    config = {r["key"]: r["value"] for r in db.sql("SELECT * FROM config")}
    assert config[contract.WRITE_BUDGET_EVENTS_KEY] == "0"
    assert config[contract.WRITE_BUDGET_BYTES_KEY] == "0"
    writer = db.new_writer()
    for key in (contract.WRITE_BUDGET_EVENTS_KEY, contract.WRITE_BUDGET_WINDOW_KEY):
        refused(
            "update_config",
            key,
            "1",
            NONE,
            token=writer,
            expect=f'permission_denied: config key "{key}" is admin-only',
        )
    refused(
        "update_config",
        contract.WRITE_BUDGET_WINDOW_KEY,
        "0",
        NONE,
        expect="invalid_argument: write_budget_window_seconds is 0; it must be an integer "
        "from 1 to 86400",
    )
    for i in range(20):
        db.ok("publish_event", event_input(f"ev-{i}"), token=writer)
    assert db.sql("SELECT * FROM write_usage") == []


def test_a_writer_over_its_event_budget_is_refused_and_nothing_is_stored(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    budget(db, events=2)
    writer_id, writer = db.mint_writer()
    db.ok("publish_event", event_input("ev-1"), token=writer)
    refused(
        "publish_events",
        [event_input("ev-2"), event_input("ev-3")],
        token=writer,
        expect=f"rate_limited: identity {writer_id} is over its write budget of 2 events per "
        "3600-second window (write_budget_events): 1 used and this call adds 2; the window "
        "resets at ",
    )
    db.ok("publish_event", event_input("ev-2"), token=writer)
    message = refused("publish_event", event_input("ev-3"), token=writer, expect="rate_limited")
    [usage] = db.sql("SELECT * FROM write_usage")
    assert usage["events"] == 2
    resets_at = Refusal.parse(message).resets_at
    assert resets_at is not None
    assert round(resets_at * 1e6) == micros(usage["window_start"]) + 3600 * 1_000_000
    # any change the module logs counts, not only published events
    refused("update_config", "app.theme", '"dark"', NONE, token=writer, expect="rate_limited")
    assert "ev-3" not in stored_ids(db)
    # admins are exempt, and every other identity has its own budget
    for i in range(5):
        db.ok("publish_event", event_input(f"admin-{i}"))
    db.ok("publish_event", event_input("other-1"), token=db.new_writer())
    assert {"ev-1", "ev-2", "admin-4", "other-1"} <= stored_ids(db)


def test_the_byte_budget_counts_stored_bytes(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    budget(db, bytes_=4000)
    writer_id, writer = db.mint_writer()
    big = '"' + "x" * 5000 + '"'
    refused(
        "publish_event",
        event_input("ev-big", data=big),
        token=writer,
        expect=f"rate_limited: identity {writer_id} is over its write budget of 4000 bytes "
        "per 3600-second window (write_budget_bytes): 0 used",
    )
    db.ok("publish_event", event_input("ev-1", data='"' + "x" * 1000 + '"'), token=writer)
    db.ok("publish_event", event_input("ev-2", data='"' + "x" * 1000 + '"'), token=writer)
    [usage] = db.sql("SELECT * FROM write_usage")
    assert 2000 < usage["bytes"] <= 4000
    refused(
        "publish_event",
        event_input("ev-3", data='"' + "x" * 2000 + '"'),
        token=writer,
        expect=f"(write_budget_bytes): {usage['bytes']} used",
    )


def test_stored_events_count_against_the_budget(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    budget(db, events=2)
    writer = db.new_writer()

    def event(version: int) -> dict[str, Any]:
        return {
            "originator_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "originator_version": version,
            "topic": "app:Thing.Created",
            "state": b"{}".hex(),
        }

    refused(
        "es_insert_events",
        "app_events",
        [event(1), event(2), event(3)],
        NONE,
        token=writer,
        expect="rate_limited",
    )
    db.ok("es_insert_events", "app_events", [event(1), event(2)], NONE, token=writer)
    assert len(db.sql("SELECT * FROM es_stored_event")) == 2


def test_the_window_resets(inner_universe: Database, refused: Refused) -> None:
    """Refused within the window; after it ended, the same write passes and starts a new one.
    The window is shortened after the refusal, so nothing depends on how fast the calls run:
    the write is retried until it passes, and it must not pass before the window ended."""
    db = inner_universe
    budget(db, events=1)
    writer = db.new_writer()
    db.ok("publish_event", event_input("ev-1"), token=writer)
    refused("publish_event", event_input("ev-2"), token=writer, expect="window resets at")
    [first] = db.sql("SELECT * FROM write_usage")
    start = micros(first["window_start"])
    db.ok("update_config", contract.WRITE_BUDGET_WINDOW_KEY, "1", NONE)
    deadline = time.monotonic() + 60
    while (response := db.call("publish_event", event_input("ev-2"), token=writer)).is_error:
        refusal = Refusal.parse(response.text)
        assert refusal.code is ErrorCode.RATE_LIMITED, response.text
        assert refusal.resets_at is not None
        assert round(refusal.resets_at * 1e6) == start + 1_000_000
        assert time.monotonic() < deadline, "the window did not reset within 60 s"
    [stored] = db.sql("SELECT * FROM event_log WHERE event_id = 'ev-2'")
    assert micros(stored["timestamp"]) >= start + 1_000_000
    [usage] = db.sql("SELECT * FROM write_usage")
    assert (usage["events"], micros(usage["window_start"])) == (1, micros(stored["timestamp"]))


async def test_config_keys_are_capped_for_writers_not_admins(
    inner_universe: Database, refused: Refused
) -> None:
    """A writer that fills the cap cannot lock an admin out of its settings (issue 13)."""
    db = inner_universe
    present = len(db.sql("SELECT key FROM config"))
    _, writer = db.mint_writer()
    async with DbConnection(db.base_url, db.name, token=writer) as connection:
        missing = [f"app.k{i}" for i in range(contract.MAX_CONFIG_KEYS - present)]
        for start in range(0, len(missing), 100):
            await asyncio.gather(
                *(
                    contract.update_config(key=key, value="1", description=None).send(connection)
                    for key in missing[start : start + 100]
                )
            )
    assert len(db.sql("SELECT key FROM config")) == contract.MAX_CONFIG_KEYS
    refused(
        "update_config",
        "app.one_more",
        "1",
        NONE,
        token=writer,
        expect=f"resource_exhausted: config has {contract.MAX_CONFIG_KEYS} keys, the limit for "
        'writers; "app.one_more" would be a new one',
    )
    db.ok("update_config", "app.k0", "2", NONE, token=writer)  # its own key still changes
    [row] = db.sql("SELECT value FROM config WHERE key = 'app.k0'")
    assert row["value"] == "2"
    db.ok("update_config", "log_level", '"debug"', NONE)  # an admin is never capped
    db.ok("update_config", "app.admins_key", "1", NONE)
    assert len(db.sql("SELECT key FROM config")) == contract.MAX_CONFIG_KEYS + 2
