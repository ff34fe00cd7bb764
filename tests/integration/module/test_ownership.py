"""What one writer may not take from another (issue 13, the attacker session's findings): a
timeline or delta stream claimed first stays claimable back by an admin, the plugin's anchor
timelines go with their delta streams, `eventsourcing` stores have owners, every call that
adds rows is charged, the module's event types are its own, and config keys have owners."""

from __future__ import annotations

import asyncio
from typing import Any

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, Identity
from tests.integration.http_api import (
    NONE,
    T0,
    Database,
    delta_metadata,
    event_input,
    identity_arg,
    sha,
    some,
)
from tests.integration.module.conftest import Refused
from tests.integration.module.test_access import child, root
from tests.integration.module.test_stored_events import event
from tests.integration.module.test_write_budget import budget


def owners(db: Database) -> dict[str, str]:
    """``stream_owner`` as key -> owner hex (no ``0x``)."""
    rows = db.sql("SELECT * FROM stream_owner")
    return {r["key"]: r["owner"][0].removeprefix("0x") for r in rows}


def tracking(store: str, notification_id: int) -> dict[str, Any]:
    return some({"store": store, "application_name": "up", "notification_id": notification_id})


def anchor(db: Database, stream: str, token: str) -> None:
    """Commits the plugin's anchor of projector stream ``stream``."""
    root(db, f"stream.{stream}.base", f"stream.{stream}", token=token)


def delta(delta_id: str, stream: str, version_id: str) -> list[Any]:
    return [delta_id, stream, version_id, T0, [], delta_metadata()]


def test_an_admin_gives_a_squatted_timeline_back(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    w1_id, w1 = db.mint_writer()
    w2_id, w2 = db.mint_writer()
    root(db, "v1", "main", token=w2)  # W2 claims the default timeline first
    refused(
        "commit_state_version",
        *child("v1", "v2", "main"),
        token=w1,
        expect='permission_denied: timeline "main" belongs to',
    )
    refused(
        "set_stream_owner",
        "timeline:main",
        some(identity_arg(w1_id)),
        token=w1,
        expect="permission_denied: set_stream_owner is admin-only",
    )
    db.ok("set_stream_owner", "timeline:main", some(identity_arg(w1_id)))
    db.ok("set_stream_owner", "timeline:main", some(identity_arg(w1_id)))  # held: a no-op
    assert owners(db)["timeline:main"] == w1_id
    db.ok("commit_state_version", *child("v1", "v2", "main"), token=w1)
    refused(
        "commit_state_version",
        *child("v2", "v3", "main"),
        token=w2,
        expect='permission_denied: timeline "main" belongs to',
    )

    # Cleared, the stream goes to its next writer, not back to its first one (W2).
    db.ok("set_stream_owner", "timeline:main", NONE)
    assert "timeline:main" not in owners(db)
    db.ok("commit_state_version", *child("v2", "v3", "main"), token=w1)
    assert owners(db)["timeline:main"] == w1_id
    # Deleting the row alone decides: no owner is re-derived from W2's first version.
    db.ok("set_stream_owner", "timeline:main", NONE)
    db.ok("commit_state_version", *child("v3", "v4", "main"), token=w1)
    assert owners(db)["timeline:main"] == w1_id
    assert w2_id != w1_id


def test_set_stream_owner_names_a_stream(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    identity = identity_arg("0x" + "1" * 64)
    refused(
        "set_stream_owner",
        "timeline:nobody",
        NONE,
        expect='not_found: stream owner "timeline:nobody" does not exist',
    )
    refused(
        "set_stream_owner",
        "main",
        some(identity),
        expect='invalid_argument: key "main" names no stream',
    )
    refused(
        "set_stream_owner",
        "timeline:stream.s",
        some(identity),
        expect='invalid_argument: timeline "stream.s" belongs to the owner of "deltas:s"',
    )
    db.ok("set_stream_owner", "es:app_events", some(identity))
    assert owners(db) == {"es:app_events": "1" * 64}


def test_anchor_timelines_belong_to_the_delta_stream_owner(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    w1_id, w1 = db.mint_writer()
    w2_id, w2 = db.mint_writer()
    anchor(db, "s", token=w1)  # the plugin's first step claims delta stream "s" for W1
    assert owners(db) == {"deltas:s": w1_id}
    refused(
        "commit_state_version",
        *child("stream.s.base", "x1", "stream.s"),
        token=w2,
        expect='permission_denied: timeline "stream.s" (as the anchor of delta stream "s") '
        "belongs to",
    )
    refused(
        "record_delta",
        *delta("s:0", "s", "stream.s.base"),
        token=w2,
        expect='permission_denied: delta stream "s" belongs to',
    )
    db.ok("record_delta", *delta("s:0", "s", "stream.s.base"), token=w1)

    # A squatter on delta stream "t" (or on timeline "stream.t") holds both: W1's anchor is
    # refused until an admin gives the stream to W1.
    root(db, "w2-root", "w2", token=w2)
    db.ok("record_delta", *delta("t:0", "t", "w2-root"), token=w2)
    refused(
        "commit_state_version",
        "stream.t.base",
        "stream.t",
        NONE,
        T0,
        "",
        sha("{}"),
        [],
        some("{}"),
        token=w1,
        expect='permission_denied: timeline "stream.t" (as the anchor of delta stream "t")',
    )
    root(db, "u-first", "stream.u", token=w2)
    refused(
        "record_delta",
        *delta("u:0", "u", "u-first"),
        token=w1,
        expect='permission_denied: delta stream "u" belongs to',
    )
    db.ok("set_stream_owner", "deltas:t", some(identity_arg(w1_id)))
    anchor(db, "t", token=w1)
    assert owners(db)["deltas:t"] == w1_id
    assert owners(db)["deltas:u"] == w2_id
    assert "timeline:stream.u" not in owners(db)


def test_eventsourcing_stores_belong_to_their_first_writer(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    w1_id, w1 = db.mint_writer()
    w2_id, w2 = db.mint_writer()
    db.ok("es_insert_events", "app_events", [event(1)], tracking("app_tracking", 1), token=w1)
    assert owners(db) == {"es:app_events": w1_id, "es:app_tracking": w1_id}
    refused(
        "es_insert_events",
        "app_events",
        [event(1, "w2-aggregate")],
        NONE,
        token=w2,
        expect='permission_denied: eventsourcing store "app_events" belongs to',
    )
    refused(
        "es_insert_events",
        "w2_events",
        [],
        tracking("app_tracking", 9),
        token=w2,
        expect='permission_denied: eventsourcing store "app_tracking" belongs to',
    )
    # A refused call claims nothing either: the snapshot comparison covered "w2_events".
    db.ok("grant_stream_access", identity_arg(w2_id), token=w1)
    db.ok("es_insert_events", "app_events", [event(2)], tracking("app_tracking", 2), token=w2)
    db.ok("revoke_stream_access", identity_arg(w2_id), token=w1)
    db.ok("set_stream_owner", "es:app_events", some(identity_arg(w2_id)))
    db.ok("es_insert_events", "app_events", [event(3)], NONE, token=w2)
    refused(
        "es_insert_events",
        "app_events",
        [event(4)],
        NONE,
        token=w1,
        expect='permission_denied: eventsourcing store "app_events" belongs to',
    )
    [head] = db.sql("SELECT * FROM es_store WHERE name = 'app_events'")
    assert head["max_notification_id"] == 3


def test_tracking_records_and_grants_are_charged(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    budget(db, events=2)
    writer_id, writer = db.mint_writer()
    db.ok("es_insert_events", "t", [], tracking("t", 1), token=writer)
    db.ok("grant_stream_access", identity_arg("0x" + "1" * 64), token=writer)
    [usage] = db.sql("SELECT * FROM write_usage")
    assert usage["events"] == 2
    refused(
        "es_insert_events",
        "t",
        [],
        tracking("t", 2),
        token=writer,
        expect=f"rate_limited: identity {writer_id} is over its write budget",
    )
    refused(
        "grant_stream_access",
        identity_arg("0x" + "2" * 64),
        token=writer,
        expect=f"rate_limited: identity {writer_id} is over its write budget",
    )
    db.ok("grant_stream_access", identity_arg("0x" + "1" * 64), token=writer)  # held: free


async def test_grants_per_owner_are_capped(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    writer_id, writer = db.mint_writer()
    delegates = [
        Identity.from_hex(f"{i:064x}") for i in range(1, contract.MAX_DELEGATES_PER_OWNER + 1)
    ]
    async with DbConnection(db.base_url, db.name, token=writer) as connection:
        for start in range(0, len(delegates), 100):
            await asyncio.gather(
                *(
                    contract.grant_stream_access(delegate=delegate).send(connection)
                    for delegate in delegates[start : start + 100]
                )
            )
    assert len(db.sql("SELECT id FROM stream_delegate")) == contract.MAX_DELEGATES_PER_OWNER
    refused(
        "grant_stream_access",
        identity_arg("0x" + "f" * 64),
        token=writer,
        expect=f"resource_exhausted: {writer_id} has granted stream access to "
        f"{contract.MAX_DELEGATES_PER_OWNER} identities, the limit",
    )
    db.ok("grant_stream_access", identity_arg("0x" + "f" * 64))  # another owner's count apart


def test_client_events_cannot_take_the_module_event_types(refused: Refused) -> None:
    for event_type in sorted(contract.MODULE_EVENT_TYPES):
        forged = event_input("ev-1", event_type)
        refused(
            "publish_event",
            forged,
            expect=f'invalid_argument: event.event_type "{event_type}" is reserved for the '
            "module's own events (ENTITY_CREATED, ",
        )
        refused(
            "publish_events",
            [event_input("ev-0"), forged],
            expect=f'invalid_argument: events[1].event_type "{event_type}" is reserved',
        )


def test_config_keys_belong_to_whoever_set_them(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    w1, w2 = db.new_writer(), db.new_writer()
    db.ok("update_config", "app.theme", '"dark"', NONE, token=w1)
    refused(
        "update_config",
        "app.theme",
        '"light"',
        NONE,
        token=w2,
        expect='permission_denied: config key "app.theme" belongs to',
    )
    db.ok("update_config", "app.theme", '"light"', NONE, token=w1)
    db.ok("update_config", "app.theme", '"blue"', NONE)  # an admin may; the key is its now
    refused(
        "update_config",
        "app.theme",
        '"dark"',
        NONE,
        token=w1,
        expect='permission_denied: config key "app.theme" belongs to',
    )
    [row] = db.sql("SELECT value FROM config WHERE key = 'app.theme'")
    assert row["value"] == '"blue"'
