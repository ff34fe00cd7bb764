"""The one clock of the NERV core."""

from __future__ import annotations

import time


def now() -> float:
    """Epoch seconds rounded to whole microseconds.

    The server stores microsecond timestamps; a time made here survives that round trip
    unchanged, so replayed events and versions compare equal to the originals.
    """
    return time.time_ns() // 1000 / 1_000_000
