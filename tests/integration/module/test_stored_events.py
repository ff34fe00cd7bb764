"""`es_insert_events` (the `eventsourcing` persistence module's writes) against the real server:
its validation, its integrity rules, atomic tracking and gap-free notification ids."""

from __future__ import annotations

from typing import Any

from tests.integration.http_api import NONE, Database, identity_arg, some
from tests.integration.module.conftest import Refused

OID = "3f2b1c9e-0d4a-4c55-9a61-2f3e4d5c6b7a"


def event(version: int, originator_id: str = OID, topic: str = "app:Event") -> dict[str, Any]:
    return {
        "originator_id": originator_id,
        "originator_version": version,
        "topic": topic,
        "state": b'{"a":1}'.hex(),
    }


def tracking(notification_id: int, application: str = "upstream") -> dict[str, Any]:
    return some(
        {
            "store": "down_tracking",
            "application_name": application,
            "notification_id": notification_id,
        }
    )


def notification_ids(db: Database, store: str) -> list[tuple[str, int, int]]:
    rows = db.sql(f"SELECT * FROM es_stored_event WHERE store = '{store}'")  # noqa: S608
    return sorted((r["originator_id"], r["originator_version"], r["notification_id"]) for r in rows)


def test_events_get_gap_free_ids_per_store_from_any_writer(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("es_insert_events", "app_events", [event(1), event(2)], NONE)
    other_id, other = db.mint_writer()  # a writer the store's owner granted access may append
    db.ok("grant_stream_access", identity_arg(other_id))
    db.ok("es_insert_events", "app_events", [event(1, "other")], NONE, token=other)
    stranger = db.new_identity()  # without a role (auth_required): refused, nothing changes
    assert "permission_denied" in db.fails(
        "es_insert_events", "app_events", [event(9, "x")], NONE, token=stranger
    )
    db.ok("es_insert_events", "app_snapshots", [event(2)], NONE)
    assert notification_ids(db, "app_events") == [(OID, 1, 1), (OID, 2, 2), ("other", 1, 3)]
    assert notification_ids(db, "app_snapshots") == [(OID, 2, 1)]
    heads = {r["name"]: r["max_notification_id"] for r in db.sql("SELECT * FROM es_store")}
    assert heads == {"app_events": 3, "app_snapshots": 1}
    [stored] = db.sql("SELECT * FROM es_stored_event WHERE store = 'app_snapshots'")
    assert bytes.fromhex(stored["state"]) == b'{"a":1}'


def test_a_taken_position_is_an_integrity_error_and_changes_nothing(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    db.ok("es_insert_events", "app_events", [event(1)], NONE)
    refused(
        "es_insert_events",
        "app_events",
        [event(2), event(1)],
        NONE,
        expect=f'integrity_error: stored event ("{OID}", version 1) is recorded in store',
    )
    refused(
        "es_insert_events",
        "app_events",
        [event(3), event(3)],
        NONE,
        expect=f'integrity_error: stored event ("{OID}", version 3) is twice in this batch',
    )


def test_tracking_commits_with_the_events_and_only_moves_forward(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    db.ok("es_insert_events", "down_events", [event(1)], tracking(5))
    db.ok("es_insert_events", "down_tracking", [], tracking(7, "other"))
    rows = {
        r["application_name"]: r["notification_id"] for r in db.sql("SELECT * FROM es_tracking")
    }
    assert rows == {"upstream": 5, "other": 7}
    refused(
        "es_insert_events",
        "down_events",
        [event(2)],
        tracking(5),
        expect='integrity_error: tracking of "upstream" is at notification 5; 5 is not after it',
    )
    refused("es_insert_events", "down_events", [event(2)], tracking(4), expect="integrity_error")
    refused("es_insert_events", "down_events", [event(1)], tracking(6), expect="integrity_error")


def test_bad_input_is_refused_first(inner_universe: Database, refused: Refused) -> None:
    cases = [
        ("bad store", [event(1)], NONE, "invalid_argument: store"),
        ("app_events", [event(1, "")], NONE, "invalid_argument: events[0].originator_id must not"),
        ("app_events", [event(1, "a\nb")], NONE, "control character"),
        ("app_events", [event(1, topic="")], NONE, "invalid_argument: events[0].topic"),
        ("app_events", [event(1, topic="t" * 257)], NONE, "the limit is 256"),
        ("app_events", [], NONE, "invalid_argument: events is empty and there is no tracking"),
        ("app_events", [event(1)], tracking(1, ""), "tracking.application_name must not"),
    ]
    for store, events, track, expect in cases:
        refused("es_insert_events", store, events, track, expect=expect)
