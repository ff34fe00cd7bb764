"""What replay keeps of an `event_log` row (`translate.log_entry`, plain values) and the event it
makes (`translate.event_from_entry`), against the row's fields read one by one by name."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe import contract
from nerv_inner_universe.client import Identity, Row, Timestamp, Variant
from nerv_inner_universe.delta import InvalidJSONError, parse_json
from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.errors import PersistenceError

FIELDS = (
    "event_id",
    "seq",
    "event_type",
    "source",
    "timestamp",
    "occurred_at",
    "sender",
    "data",
    "metadata",
)
"""`event_log`'s columns in the module's order (``timestamp`` is the server's, not read)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 63) - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
texts = st.text(min_size=1, max_size=12)
event_types = st.from_regex(r"[A-Za-z0-9._:/-]{1,12}", fullmatch=True)
"""What the module stores as an event type (it refuses any other character, ``*`` too)."""


@st.composite
def log_rows(draw: st.DrawFn) -> dict[str, object]:
    """One decoded `event_log` row's fields: a published event or (sometimes) a module event."""
    custom = draw(st.booleans()) or draw(st.booleans())
    data = json.dumps(draw(json_values)) if custom else Variant("SystemInitialized", ())
    return {
        "event_id": draw(texts),
        "seq": draw(st.integers(1, (1 << 64) - 1)),
        "event_type": draw(event_types),
        "source": draw(st.none() | texts),
        "timestamp": Timestamp(draw(st.integers(-(1 << 63), (1 << 63) - 1))),
        "occurred_at": Timestamp(draw(st.integers(-(1 << 62), 1 << 62))),
        "sender": Identity(draw(st.integers(0, (1 << 256) - 1))),
        "data": Variant(contract.CUSTOM_EVENT, data) if custom else data,
        "metadata": json.dumps(draw(st.dictionaries(st.text(max_size=4), json_values))),
    }


def reference_event(fields: dict[str, object], replayed: bool) -> Event | None:
    """The event of a row, read field by field (what replay made of a row before entries)."""
    data = fields["data"]
    assert isinstance(data, Variant)
    if data.name != contract.CUSTOM_EVENT:
        return None
    occurred_at, sender = fields["occurred_at"], fields["sender"]
    assert isinstance(occurred_at, Timestamp)
    assert isinstance(sender, Identity)
    return Event(
        id=str(fields["event_id"]),
        type=str(fields["event_type"]),
        data=parse_json(str(data.value)),
        timestamp=occurred_at.seconds,
        source=fields["source"],  # type: ignore[arg-type]
        metadata=parse_json(str(fields["metadata"])),
        sender=sender.hex,
        position=int(fields["seq"]),  # type: ignore[call-overload]
        replayed=replayed,
    )


def as_row(fields: dict[str, object], order: tuple[str, ...] = FIELDS) -> Row:
    return Row.from_fields(order, tuple(fields[name] for name in order))


@given(st.lists(log_rows(), min_size=1, max_size=5), st.booleans(), st.randoms())
def test_an_entry_makes_the_event_the_row_holds(
    rows: list[dict[str, object]], replayed: bool, rng: random.Random
) -> None:
    order = tuple(rng.sample(FIELDS, len(FIELDS)))  # any column order: read by name
    for fields in rows:
        entries = [
            translate.log_entry(as_row(fields)),
            translate.log_entry(as_row(fields, order)),
            translate.log_entry(dict(fields)),  # any mapping, field by field
        ]
        assert entries[0] == entries[1] == entries[2]
        expected = reference_event(fields, replayed)
        event = translate.event_from_entry(entries[0], replayed)
        assert event == expected
        if event is not None and expected is not None:
            assert (event.sender, event.position) == (expected.sender, expected.position)
        assert translate.event_from_row(as_row(fields)) == reference_event(fields, False)


@given(log_rows())
def test_an_entry_is_plain_values_and_counts_the_row_text(fields: dict[str, object]) -> None:
    entry = translate.log_entry(as_row(fields))
    assert all(type(value) in (int, str, type(None)) for value in entry)  # nothing the GC tracks
    data = fields["data"]
    assert isinstance(data, Variant)
    text = data.value if data.name == contract.CUSTOM_EVENT else ""
    source = fields["source"] or ""
    columns = (fields["event_id"], fields["event_type"], fields["metadata"], source, text)
    assert entry[1] == translate.ROW_OVERHEAD + sum(len(str(c)) for c in columns)


def broken(**changes: object) -> Row:
    fields = {
        "event_id": "e1",
        "seq": 1,
        "event_type": "T",
        "source": None,
        "timestamp": Timestamp(0),
        "occurred_at": Timestamp(0),
        "sender": Identity(1),
        "data": Variant(contract.CUSTOM_EVENT, "{}"),
        "metadata": "{}",
    }
    return as_row({**fields, **changes})


def test_a_row_of_the_wrong_kinds_raises_typed_errors() -> None:
    with pytest.raises(PersistenceError, match="expected a Timestamp"):
        translate.log_entry(broken(occurred_at=5))
    with pytest.raises(PersistenceError, match="expected an Identity"):
        translate.log_entry(broken(sender="c2"))
    with pytest.raises(PersistenceError, match="expected canonical JSON text"):
        translate.log_entry(broken(data=Variant(contract.CUSTOM_EVENT, 5)))
    with pytest.raises(PersistenceError, match="non-object metadata"):
        translate.event_from_entry(translate.log_entry(broken(metadata="[1]")))
    with pytest.raises(InvalidJSONError):
        translate.event_from_entry(translate.log_entry(broken(data=Variant("Custom", "{,"))))
    with pytest.raises(InvalidJSONError, match="duplicate key 'who'"):  # a row edited by hand
        translate.event_from_entry(translate.log_entry(broken(metadata='{"who":1,"who":2}')))
    data = Variant(contract.CUSTOM_EVENT, '{"a":{"b":1},"a":2}')
    with pytest.raises(InvalidJSONError, match="duplicate key 'a'"):
        translate.event_from_entry(translate.log_entry(broken(data=data)))
    with pytest.raises(KeyError):
        translate.log_entry(Row(event_id="e1", seq=1))


def test_rows_of_one_writer_share_its_hex_and_writers_never_mix() -> None:
    first, second = Identity(1), Identity(2)
    entries = [translate.log_entry(broken(sender=w)) for w in (first, first, second, first)]
    assert [entry[6] for entry in entries] == [first.hex, first.hex, second.hex, first.hex]
    assert entries[0][6] is entries[1][6]  # one str for the writer's run of rows
    assert translate.log_entry(broken(sender=Identity(1)))[6] == first.hex  # an equal Identity
