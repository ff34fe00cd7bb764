"""The one clock of the NERV core."""

from __future__ import annotations

import time

from nerv_inner_universe.micros import nearest_micros

_FAST_BELOW = 2.0**33
"""Below this many seconds (year 2242) a float's spacing is under a microsecond, so a float
that is the nearest to a whole number of microseconds rounds to that number."""


def now() -> float:
    """Epoch seconds rounded to whole microseconds.

    The server stores microsecond timestamps; a time made here survives that round trip
    unchanged, so replayed events and versions compare equal to the originals.
    """
    return time.time_ns() // 1000 / 1_000_000


def whole_microseconds(seconds: float) -> float:
    """``seconds`` (finite) rounded to whole microseconds, ties to even, as a store keeping
    microsecond times stores it (`nearest_micros`): a time rounded here reads back equal."""
    if -_FAST_BELOW < seconds < _FAST_BELOW and round(seconds * 1_000_000) / 1_000_000 == seconds:
        return seconds  # already the float of a whole number of microseconds (the usual case)
    return nearest_micros(seconds) / 1_000_000
