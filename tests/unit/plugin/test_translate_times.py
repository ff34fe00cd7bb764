"""Times between NERV's float seconds and the module's microseconds (issue 13)."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import Timestamp
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


@pytest.mark.parametrize("micros", [(1 << 63) - 1, -(1 << 63)])
def test_an_event_stored_with_an_extreme_time_has_a_fingerprint(micros: int) -> None:
    event = Event(type="T", data={}, id="far", timestamp=Timestamp(micros).seconds)
    fingerprint = translate.event_fingerprint(event)
    assert abs(fingerprint[2] - micros) < 2_048  # type: ignore[operator]
    assert fingerprint == translate.event_fingerprint(event)
    with pytest.raises(WriteRefusedError, match=r"^event timestamp "):
        translate.event_input(event)


@pytest.mark.parametrize(
    "event",
    [
        Event(type="T", data={"n": 1, "é": [1.5, None]}, id="a", timestamp=1.0000005),
        Event(type="U", data="x", id="b", timestamp=-3.25, source="s", metadata={"k": {"v": 2}}),
    ],
)
def test_an_event_input_s_fingerprint_is_its_event_s(event: Event) -> None:
    assert translate.input_fingerprint(translate.event_input(event)) == (
        translate.event_fingerprint(event)
    )
    other = Event(type=event.type, data=["other"], id=event.id, timestamp=event.timestamp)
    assert translate.input_fingerprint(translate.event_input(other)) != (
        translate.event_fingerprint(event)
    )
