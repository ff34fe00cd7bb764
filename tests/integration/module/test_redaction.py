"""Redaction against the real server (issue 13, item 7): only an admin redacts, with a reason;
each kind leaves a tombstone in ``event_log``; a version must be its timeline's head and a
delta the last unredacted one of its stream; a redacted id stays taken."""

from __future__ import annotations

import json
from typing import Any

from nerv_inner_universe.contract import RedactedKind
from tests.integration.http_api import (
    NONE,
    T0,
    Database,
    delta_metadata,
    event_input,
    set_op,
    sha,
    some,
)
from tests.integration.module.conftest import Refused

REDACTED_TAG = 13
"""`EventData::Redacted`, the enum's last variant."""
KIND_TAGS = {kind: tag for tag, kind in enumerate(RedactedKind)}
"""`RedactedKind` variants in declaration order, as the SQL JSON tags them."""
ANCHOR = "stream.s.base"
"""The root version projector stream ``s`` hangs on, as the plugin names it."""
SQL_NONE: list[Any] = [1, []]
"""An ``Option``'s None as SQL answers it (Some(x) is ``[0, x]``)."""


def version(version_id: str, parent: str | None, state: str, timeline: str = "main") -> list[Any]:
    """A version whose whole state is ``state`` (canonical JSON): a snapshot at the root, a
    `Set` of the whole document on a parent."""
    if parent is None:
        return [version_id, timeline, NONE, T0, "", sha(state), [], some(state)]
    return [version_id, timeline, some(parent), T0, "", sha(state), [set_op("", state)], NONE]


def fixtures(db: Database) -> None:
    db.ok("publish_event", event_input("ev-1", data='{"secret":"leaked"}'))
    db.ok("publish_event", event_input("ev-2", data="[1,2]"))
    db.ok("commit_state_version", *version("v1", None, "{}"))
    db.ok("commit_state_version", *version("v2", "v1", '{"poison":true}'))
    db.ok("commit_state_version", *version(ANCHOR, None, "{}", timeline="stream.s"))
    for n, value in enumerate(["1", '"bad"']):
        db.ok("record_delta", f"s:{n}", "s", ANCHOR, T0, [set_op("/x", value)], delta_metadata())
    db.ok("update_config", "app.theme", '"dark"', NONE)


def tombstones(db: Database, kind: RedactedKind) -> list[dict[str, Any]]:
    """The module events ``sys:<seq>`` that record redactions of ``kind`` (their source is
    the target's id)."""
    rows = db.sql(f"SELECT * FROM event_log WHERE event_type = '{kind.event_type}'")  # noqa: S608
    audits = [row for row in rows if row["event_id"].startswith("sys:")]
    assert all(row["source"] == [0, row["data"][1][1]] for row in audits)
    return audits


def assert_tombstone(
    row: dict[str, Any], kind: RedactedKind, target: str, reason: str, content_hash: str
) -> None:
    tag, (kind_tag, target_id, stored_reason, redacted_by, stored_hash) = row["data"]
    assert tag == REDACTED_TAG
    assert kind_tag[0] == KIND_TAGS[kind]
    assert (target_id, stored_reason, stored_hash) == (target, reason, content_hash)
    assert redacted_by == row["sender"], "the redacting identity"


def log_is_gap_free(db: Database) -> bool:
    seqs = sorted(int(row["seq"]) for row in db.sql("SELECT seq FROM event_log"))
    return seqs == list(range(1, len(seqs) + 1))


def test_only_an_admin_redacts_and_a_refusal_changes_nothing(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    writer = db.new_writer()
    for reducer, target in [
        ("redact_event", "ev-1"),
        ("redact_state_version", "v2"),
        ("redact_delta", "s:1"),
        ("remove_config_key", "app.theme"),
    ]:
        refused(reducer, target, "poison", expect="permission_denied: ", token=writer)
        refused(reducer, target, "  ", expect="invalid_argument: reason is empty")
    for reducer, missing in [
        ("redact_event", "ev-9"),
        ("redact_state_version", "v9"),
        ("redact_delta", "s:9"),
        ("remove_config_key", "app.missing"),
    ]:
        refused(reducer, missing, "poison", expect="not_found: ")


def test_a_redacted_event_keeps_its_place_and_its_id_stays_taken(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    [before] = db.sql("SELECT * FROM event_log WHERE event_id = 'ev-1'")
    db.ok("redact_event", "ev-1", "a secret in the data")

    [row] = db.sql("SELECT * FROM event_log WHERE event_id = 'ev-1'")
    assert (row["seq"], row["occurred_at"]) == (before["seq"], before["occurred_at"])
    assert (row["event_type"], row["source"], row["metadata"]) == ("EVENT_REDACTED", SQL_NONE, "{}")
    assert "leaked" not in json.dumps(row) + json.dumps(tombstones(db, RedactedKind.EVENT)), (
        "the poisoned data is gone"
    )
    content_hash = sha('{"secret":"leaked"}')
    assert_tombstone(row, RedactedKind.EVENT, "ev-1", "a secret in the data", content_hash)
    [audit] = tombstones(db, RedactedKind.EVENT)
    assert_tombstone(audit, RedactedKind.EVENT, "ev-1", "a secret in the data", content_hash)
    assert int(audit["seq"]) > int(row["seq"]), "appended: history is not rewritten silently"
    assert log_is_gap_free(db)

    identical = event_input("ev-1", data='{"secret":"leaked"}')
    refused("publish_event", identical, expect='redacted: event "ev-1" was redacted')
    refused("publish_events", [event_input("ev-3"), identical], expect="redacted: ")
    refused("redact_event", "ev-1", "again", expect="redacted: ")
    refused("redact_event", audit["event_id"], "audit", expect="invalid_argument: ")
    db.ok("publish_event", event_input("ev-2", data="[1,2]"))  # others stay idempotent


def test_only_a_head_version_is_redacted_and_the_head_moves_back(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    refused("redact_state_version", "v1", "poison", expect="in_use: ")
    refused("redact_state_version", ANCHOR, "poison", expect="invalid_argument: ")
    db.ok("redact_state_version", "v2", "poisoned plan")

    assert db.sql("SELECT * FROM state_version WHERE version_id = 'v2'") == []
    [main] = db.sql("SELECT * FROM timeline WHERE name = 'main'")
    assert (main["head_version_id"], main["version_count"]) == ("v1", 1)
    assert main["versions_since_snapshot"] == 0
    [audit] = tombstones(db, RedactedKind.STATE_VERSION)
    content_hash = sha('{"poison":true}')
    assert_tombstone(audit, RedactedKind.STATE_VERSION, "v2", "poisoned plan", content_hash)

    refused("commit_state_version", *version("v2", "v1", '{"poison":true}'), expect="redacted: ")
    refused("redact_state_version", "v2", "again", expect="redacted: ")
    # What builds on the redacted version is told so, not that it does not exist.
    refused(
        "commit_state_version",
        *version("v9", "v2", "{}", timeline="later"),
        expect='redacted: parent state version "v2" was redacted by an admin',
    )
    refused(
        "record_delta",
        "d9",
        "later",
        "v2",
        T0,
        [],
        delta_metadata(),
        expect='redacted: state version "v2" was redacted by an admin',
    )
    refused(
        "commit_state_version",
        *version("v9", "ghost", "{}", timeline="later"),
        expect='not_found: parent state version "ghost" does not exist',
    )
    db.ok("commit_state_version", *version("v3", "v1", '{"fine":1}'))

    # A version another timeline branches from, or one a delta was recorded on, stays.
    db.ok("commit_state_version", *version("w1", "v3", '{"fine":2}', timeline="side"))
    refused("redact_state_version", "v3", "poison", expect='in_use: version "v3" is the parent')
    db.ok("commit_state_version", *version("x1", None, "{}", timeline="other"))
    db.ok("record_delta", "d1", "other", "x1", T0, [], delta_metadata())
    refused("redact_state_version", "x1", "poison", expect='in_use: delta "d1" was recorded')
    # The only version of a timeline: the timeline goes with it.
    db.ok("redact_state_version", "w1", "branch")
    assert db.sql("SELECT * FROM timeline WHERE name = 'side'") == []
    db.ok("redact_state_version", "v3", "unwanted")
    heads = {row["name"]: row["head_version_id"] for row in db.sql("SELECT * FROM timeline")}
    assert heads == {"main": "v1", "stream.s": ANCHOR, "other": "x1"}


def test_only_the_last_delta_is_redacted_and_keeps_its_place(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    refused("redact_delta", "s:0", "poison", expect="in_use: ")
    db.ok("redact_delta", "s:1", "bad status")

    [row] = db.sql("SELECT * FROM delta_record WHERE delta_id = 's:1'")
    assert row["operations"] == []
    assert row["metadata"] == ["redacted", SQL_NONE, [], SQL_NONE]
    [audit] = tombstones(db, RedactedKind.DELTA)
    content_hash = sha('[{"op":"Set","path":"/x","value":"bad"}]')
    assert_tombstone(audit, RedactedKind.DELTA, "s:1", "bad status", content_hash)

    identical = ["s:1", "s", ANCHOR, T0, [set_op("/x", '"bad"')], delta_metadata()]
    refused("record_delta", *identical, expect='redacted: delta "s:1" was redacted')
    refused("redact_delta", "s:1", "again", expect="redacted: ")
    # Every later delta is redacted now, so the one before may go too.
    db.ok("redact_delta", "s:0", "bad too")
    db.ok("record_delta", "s:2", "s", ANCHOR, T0, [set_op("/x", "2")], delta_metadata())


def test_a_removed_config_key_leaves_a_tombstone_and_may_be_set_again(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    db.ok("remove_config_key", "app.theme", "wrong theme")
    assert db.sql("SELECT * FROM config WHERE key = 'app.theme'") == []
    [audit] = tombstones(db, RedactedKind.CONFIG_KEY)
    assert_tombstone(audit, RedactedKind.CONFIG_KEY, "app.theme", "wrong theme", sha('"dark"'))
    refused("remove_config_key", "app.theme", "again", expect="not_found: ")
    db.ok("update_config", "app.theme", '"light"', NONE)
    [row] = db.sql("SELECT * FROM config WHERE key = 'app.theme'")
    assert row["value"] == '"light"'
