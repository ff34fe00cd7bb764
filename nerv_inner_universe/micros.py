"""Whole microseconds, the resolution SpacetimeDB keeps times at: one exact rounding for the
client's `Timestamp` and the NERV core's event times, so a time survives the store unchanged."""

from __future__ import annotations


def nearest_micros(seconds: float) -> int:
    """``seconds`` (a finite float or int) in whole microseconds: the nearest to the number's
    exact value, ties to even, with no range limit (``seconds * 1e6`` in floating point could
    round by a microsecond). ValueError for NaN, OverflowError for an infinity."""
    numerator, denominator = seconds.as_integer_ratio()
    quotient, remainder = divmod(numerator * 1_000_000, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    return quotient
