"""Times between NERV's float seconds and the module's microseconds (issue 13)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe import contract
from nerv_inner_universe.client import Identity, Row, Timestamp, Variant, micros_from_seconds
from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.errors import WriteRefusedError


def test_a_write_outside_years_1_to_9999_is_refused_naming_the_field() -> None:
    # Floats near year 9999 are 30 µs apart: the last one not past the limit is accepted.
    last = Timestamp(contract.MAX_OCCURRED_AT_MICROS - 100).seconds
    assert translate.timestamp(last, "event timestamp").micros_since_epoch <= (
        contract.MAX_OCCURRED_AT_MICROS
    )
    with pytest.raises(WriteRefusedError, match=r"^event timestamp 253402300800.0 s "):
        translate.timestamp(Timestamp(contract.MAX_OCCURRED_AT_MICROS).seconds, "event timestamp")
    for seconds in (last + 1, Timestamp(contract.MIN_OCCURRED_AT_MICROS).seconds - 1, 1e300):
        with pytest.raises(WriteRefusedError, match=r"^version timestamp .* years 1 to 9999"):
            translate.timestamp(seconds, "version timestamp")


SENDER = Identity.from_hex("ab" * 32)


def stored_entry(payload: contract.EventInput) -> translate.LogEntry:
    """The `LogEntry` of the `event_log` row the module stores for ``payload``."""
    return translate.log_entry(
        Row(
            seq=1,
            event_id=payload.event_id,
            event_type=payload.event_type,
            source=payload.source,
            occurred_at=payload.occurred_at,
            sender=SENDER,
            data=Variant(contract.CUSTOM_EVENT, payload.data),
            metadata=payload.metadata,
        )
    )


@pytest.mark.parametrize("micros", [(1 << 63) - 1, -(1 << 63)])
def test_an_event_stored_with_an_extreme_time_has_a_fingerprint(micros: int) -> None:
    payload = contract.EventInput(
        event_id="far",
        event_type="T",
        source=None,
        occurred_at=Timestamp(micros),
        data="{}",
        metadata="{}",
    )
    entry = stored_entry(payload)
    fingerprint = translate.entry_fingerprint(entry)
    assert abs(fingerprint[2] - micros) < 2_048  # type: ignore[operator]
    event = translate.event_from_entry(entry, replayed=True)
    assert event is not None
    assert fingerprint[2] == micros_from_seconds(event.timestamp)
    with pytest.raises(WriteRefusedError, match=r"^event timestamp "):
        translate.event_input(event)


@pytest.mark.parametrize(
    "event",
    [
        Event(type="T", data={"n": 1, "é": [1.5, None]}, id="a", timestamp=1.0000005),
        Event(type="U", data="x", id="b", timestamp=-3.25, source="s", metadata={"k": {"v": 2}}),
        Event(type="V", data=[1], id="c", timestamp=Timestamp(9_000_000_000_000_001).seconds),
    ],
)
def test_a_replayed_event_s_fingerprint_is_its_input_s(event: Event) -> None:
    payload = translate.event_input(event)
    entry = stored_entry(payload)
    assert translate.entry_fingerprint(entry) == translate.input_fingerprint(payload)
    replayed = translate.event_from_entry(entry, replayed=True)
    assert replayed is not None
    again = translate.input_fingerprint(translate.event_input(replayed))
    assert again == translate.entry_fingerprint(entry)
    other = Event(type=event.type, data=["other"], id=event.id, timestamp=event.timestamp)
    assert translate.input_fingerprint(translate.event_input(other)) != again


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (1_700_000_000.1234567, 1_700_000_000.123457),
        (-7e-07, -1e-06),
        (1e-300, 0.0),
        (0.0078125, 0.007812),  # 7,812.5 µs exactly: a tie goes to the even neighbour
        (0.0234375, 0.023438),  # 23,437.5 µs
        (1_700_000_000.25, 1_700_000_000.25),
    ],
)
def test_an_events_time_is_kept_in_whole_microseconds(given: float, kept: float) -> None:
    event = Event("e", "T", None, given)
    assert event.timestamp == kept
    assert attrs.evolve(event, timestamp=event.timestamp) == event


@given(st.floats(min_value=-62_135_596_800.0, max_value=253_402_300_799.0))
def test_any_events_time_reads_back_equal(seconds: float) -> None:
    """An event built with any time within years 1 to 9999 (a directly built one, not only
    `Event.create`'s) is stored and read back with the same time, so the replayed copy equals
    the published event."""
    event = Event("e", "T", {"n": 1}, seconds)
    assert event.timestamp == micros_from_seconds(seconds) / 1_000_000
    replayed = translate.event_from_entry(stored_entry(translate.event_input(event)), True)
    assert replayed == event.as_replayed()
