"""Every module path's cost is bounded by its input against the real server: a delta checkpoint
refresh stops before its work (``MAX_REFRESH_WORK``: every operation costs at least the state's
size, however few bytes it has) or its state text (``MAX_REFRESH_BYTES``, 256 KiB, counted as
the text escapes it) passes its budget, and the JSON parser finds duplicate keys in linear time,
so an object of 100,000 members is parsed well within a reducer's energy budget."""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

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
from tests.integration.module.test_delta_checkpoint import anchored, record

MAX_REFRESH_BYTES = 256 * 1024


def checkpoints(db: Database) -> list[dict[str, Any]]:
    return db.sql("SELECT * FROM delta_checkpoint WHERE stream = 's'")


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def wide_object(members: int) -> dict[str, int]:
    """``members`` distinct three-character keys (8 bytes a member as compact JSON)."""
    alphabet = string.ascii_letters + string.digits
    keys = ("".join(k) for k in itertools.product(alphabet, repeat=3))
    return dict.fromkeys(itertools.islice(keys, members), 0)


def test_many_cheap_operations_on_a_long_list_leave_the_checkpoint_behind(
    inner_universe: Database,
) -> None:
    """Removals from the front of a long list count a few bytes each but move the whole list:
    a delta of 2,000 of them on a 120 KB list costs far more work than a refresh may do, so
    the refresh stops before it (the module before the work budget applied all three, about
    a second of work per refresh at this size and minutes at a larger one)."""
    db = inner_universe
    anchored(db, interval=4)
    items = [0] * 60_000
    record(db, "s:0.w", [set_op("", compact(items))])
    removals = [{"Remove": {"path": "", "index": 0}}] * 2_000
    out_of_range = {"Remove": {"path": "", "index": 4_000_000_000}}
    for n in (1, 2, 3):  # each a no-op: its last removal does not apply
        record(db, f"s:{n}.w", [*removals, out_of_range])
    record(db, "s:4.w", [set_op("/0", "1")])  # the refresh due after 4 deltas

    [row] = checkpoints(db)
    assert (row["delta_count"], row["noop_count"]) == (1, 0)
    assert row["state"] == compact(items)
    record(db, "s:5.w", [set_op("/0", "2")])  # the stream stays writable
    assert checkpoints(db) == [row]


def control_key_sets(count: int) -> list[dict[str, Any]]:
    """``count`` Sets whose paths hold 1,000 control characters: 1,005 bytes as sent, 6,007
    as the state text escapes them (``\\u0001``)."""
    return [set_op("/" + "\x01" * 1000 + f"{i:04d}", "0") for i in range(count)]


def test_a_checkpoint_state_never_passes_256_kib_when_its_keys_escape(
    inner_universe: Database,
) -> None:
    """250 such Sets are about 251 KB as sent but 1.5 MB as state text: the refresh counts the
    escaped bytes, so it does not apply them (the module before counted the raw bytes and
    stored a 1.5 MB checkpoint); 40 of them (240 KB escaped) fit and are applied."""
    db = inner_universe
    anchored(db, interval=1)
    record(db, "s:0.w", control_key_sets(250))
    record(db, "s:1.w", [set_op("/x", "1")])  # refreshes past s:0.w if it fits
    assert checkpoints(db) == []

    db.ok("update_config", "snapshot_interval", "1", NONE)
    other = "stream.t.base"
    db.ok("commit_state_version", other, "stream.t", NONE, T0, "", sha("{}"), [], some("{}"))
    fitting = control_key_sets(40)
    db.ok("record_delta", "t:0.w", "t", other, T0, fitting, delta_metadata())
    db.ok("record_delta", "t:1.w", "t", other, T0, [set_op("/x", "1")], delta_metadata())
    [row] = db.sql("SELECT * FROM delta_checkpoint WHERE stream = 't'")
    expected = {op["Set"]["path"][1:]: 0 for op in fitting}
    assert row["delta_count"] == 1
    assert json.loads(row["state"]) == expected
    assert len(row["state"].encode()) == len(compact(expected).encode())
    assert 40 * 6000 < len(row["state"].encode()) <= MAX_REFRESH_BYTES


def test_objects_of_100k_members_are_parsed_within_the_energy_budget(
    inner_universe: Database, refused: Refused
) -> None:
    """A quadratic duplicate-key check spent the whole energy budget on such an object (a 402
    after about 15 s): now an event and a delta of 100,000 members (800 KB, under
    ``max_event_bytes``) are stored, a duplicate among them is still found, and an event over
    ``max_event_bytes`` is refused with the size error (before its text is parsed) rather
    than trapping."""
    db = inner_universe
    wide = wide_object(100_000)
    data = compact(wide)
    assert len(data) < 1024 * 1024
    db.ok("publish_event", event_input("wide", data=data))
    [row] = db.sql("SELECT event_id FROM event_log WHERE event_id = 'wide'")
    assert row["event_id"] == "wide"

    anchored(db, interval=50)
    record(db, "s:0.w", [{"Patch": {"path": "", "patch": data}}])
    assert len(db.sql("SELECT delta_id FROM delta_record WHERE stream = 's'")) == 1

    duplicated = data[:-1] + ',"aaa":1}'  # "aaa" is the first key
    refused(
        "publish_event",
        event_input("dup", data=duplicated),
        expect='invalid_argument: event.data is not valid JSON: duplicate key "aaa"',
    )
    too_large = compact(wide_object(140_000))
    assert len(too_large) > 1024 * 1024
    refused(
        "publish_event",
        event_input("large", data=too_large),
        expect='invalid_argument: event 0 ("large") has',
    )
    # The size is checked on the text as sent, before any parse: an oversized text that is
    # not even JSON is refused for its size.
    refused(
        "publish_event",
        event_input("garbage", data="[" * 1_100_000),
        expect='invalid_argument: event 0 ("garbage") has 1100002 bytes of data and metadata',
    )
    refused(
        "publish_events",
        [event_input("fine"), event_input("garbage", data="[" * 1_100_000)],
        expect='invalid_argument: event 1 ("garbage") has 1100002 bytes of data and metadata',
    )


def test_floats_of_any_exponent_are_written_within_the_energy_budget(
    inner_universe: Database,
) -> None:
    """Canonical text expanded every float whose shortest digits end odd to 800 exact places to
    look for a tie (about 130 µs for ``1e-300``): an event of 980 KB of such floats, under
    ``max_event_bytes``, ran out of energy (a 402 after about 6 s), and so did a delta stream
    whose state held 30,000 of them, at every refresh. Now only a float that can be a tie is
    expanded, and these are written, the refresh included, and read back canonical."""
    db = inner_universe
    written = {}
    for n, literal in enumerate(("1e-300", "5e-324", "1e+300", "0.1")):
        floats = "[" + ",".join([literal] * (980_000 // (len(literal) + 1))) + "]"
        db.ok("publish_event", event_input(f"floats-{n}", data=floats))
        written[f"floats-{n}"] = json.loads(floats)
    rows = db.sql("SELECT event_id, data FROM event_log")
    read = {
        row["event_id"]: json.loads(row["data"][1])  # EventData::Custom
        for row in rows
        if row["event_id"] in written  # not the module's own rows
    }
    assert read == written
    anchored(db, interval=1)
    record(db, "s:0.w", [set_op("", compact([5e-324] * 30_000))])
    record(db, "s:1.w", [set_op("/0", "1")])
    record(db, "s:2.w", [set_op("/1", "2")])  # a refresh parses the stored state, floats and all
    states = {1: [5e-324] * 30_000, 2: [1, *[5e-324] * 29_999], 3: [1, 2, *[5e-324] * 29_998]}
    [checkpoint] = checkpoints(db)
    assert checkpoint["delta_count"] >= 2
    assert json.loads(checkpoint["state"]) == states[checkpoint["delta_count"]]
