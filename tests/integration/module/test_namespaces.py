"""The module's own id namespaces cannot be taken by a client (issue 13, item 3), against the
real server: module event ids (`sys:<seq>`), the plugin's delta ids (`<stream>:<n>`) and stream
anchors (`stream.<s>.base`). A database that holds a client event named like a future module
event (stored before `sys:` was reserved) keeps accepting connections and calls."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.http_api import (
    NONE,
    T0,
    Database,
    delta_metadata,
    entity_metadata,
    event_input,
    sha,
    some,
)
from tests.integration.module.conftest import Refused

EMPTY_HASH = sha("{}")


def anchor(db: Database, stream: str, token: str | None = None) -> None:
    """Commits the plugin's anchor version for ``stream``, as the plugin does."""
    db.ok(
        "commit_state_version",
        f"stream.{stream}.base",
        f"stream.{stream}",
        NONE,
        T0,
        f"initial state of projector stream {stream!r}",
        EMPTY_HASH,
        [],
        some("{}"),
        token=token,
    )


def test_client_event_ids_cannot_start_with_sys(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    [sequence] = db.sql("SELECT * FROM log_sequence")
    next_seq = sequence["next_seq"]
    for event_id in (f"sys:{next_seq + 7}", "sys:1", "SYS:5", "Sys:x"):
        refused(
            "publish_event",
            event_input(event_id),
            expect=f'invalid_argument: event.event_id "{event_id}" starts with "sys:", which is '
            "reserved",
        )
    refused(
        "publish_events",
        [event_input("ev-ok"), event_input("sys:99")],
        expect='events[1].event_id "sys:99" starts with "sys:"',
    )
    db.ok("publish_event", event_input("system:1"))  # only the exact prefix is reserved


def test_plugin_delta_ids_stay_on_their_stream(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    anchor(db, "main")
    anchor(db, "other")
    refused(
        "record_delta",
        "main:0",
        "other",
        "stream.other.base",
        T0,
        [],
        delta_metadata(),
        expect='invalid_argument: delta_id "main:0" names delta 0 of stream "main", so it cannot '
        'be recorded on stream "other"',
    )
    db.ok("record_delta", "main:0", "main", "stream.main.base", T0, [], delta_metadata())
    db.ok("record_delta", "d-uuid", "other", "stream.other.base", T0, [], delta_metadata())
    streams = {r["delta_id"]: r["stream"] for r in db.sql("SELECT * FROM delta_record")}
    assert streams == {"main:0": "main", "d-uuid": "other"}


def test_stream_anchors_have_fixed_content(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    state = '{"evil":1}'
    evil_hash = sha(state)
    for timeline, parent_hash, snapshot in (
        ("main", EMPTY_HASH, "{}"),  # not on its own timeline
        ("stream.main", evil_hash, state),  # not the empty state
    ):
        refused(
            "commit_state_version",
            "stream.main.base",
            timeline,
            NONE,
            T0,
            "",
            parent_hash,
            [],
            some(snapshot),
            expect='invalid_argument: version_id "stream.main.base" is reserved for the anchor '
            'of projector stream "main"',
        )
    other = db.new_writer()
    anchor(db, "main", token=other)
    anchor(db, "main")  # the owner's plugin commits it again: identical content, a no-op
    db.ok(
        "commit_state_version",
        "stream.main.base",
        "stream.main",
        NONE,
        T0,
        "another description",
        EMPTY_HASH,
        [],
        some("{}"),
    )
    [row] = db.sql("SELECT * FROM state_version")
    assert row["snapshot"] == [0, "{}"]


def _import_row(event_id: str, seq: int, sender: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "seq": seq,
        "event_type": "AGENT_STEP",
        "source": NONE,
        "timestamp": T0,
        "occurred_at": T0,
        "sender": sender,
        "data": {"Custom": "1"},
        "metadata": "{}",
    }


def test_a_stored_client_sys_event_no_longer_blocks_the_module(inner_universe: Database) -> None:
    """An older database may hold a client event named `sys:<n>` (imported here, as it was
    exported before the prefix was reserved). When the log reaches `n`, the module's own event
    takes `sys:<n>.1`, and connections and calls keep working."""
    db = inner_universe
    [admin] = db.sql("SELECT * FROM admin")
    sender = admin["identity"]
    db.ok("import_rows", {"Begin": []})
    db.ok(
        "import_rows",
        {"EventLog": [_import_row("ev-1", 1, sender), _import_row("sys:3", 2, sender)]},
    )
    db.ok("import_rows", {"Finish": 3})
    db.ok("create_entity", "e1", "agent", entity_metadata())  # module event number 3
    db.ok("publish_event", event_input("ev-2"))
    with httpx.Client(base_url=db.base_url, timeout=30) as http:
        assert http.post("/v1/identity").status_code == 200
    rows = sorted(db.sql("SELECT * FROM event_log"), key=lambda r: r["seq"])
    by_seq = {r["seq"]: (r["event_id"], r["event_type"]) for r in rows}
    assert by_seq == {
        1: ("ev-1", "AGENT_STEP"),
        2: ("sys:3", "AGENT_STEP"),
        3: ("sys:3.1", "ENTITY_CREATED"),
        4: ("ev-2", "AGENT_STEP"),
    }
