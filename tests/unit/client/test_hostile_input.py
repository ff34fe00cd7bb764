"""Hostile input to the client's value layer: only ASCII digits, no untyped error, short messages.

``str.isdigit()`` accepts ``"²"`` (which ``int()`` refuses) and ``int()`` takes ``"٢"`` as 2,
``"1_0"`` as 10 and refuses 4,300 digits with a bare ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.client import (
    ArgumentError,
    Identity,
    Primitive,
    ProtocolError,
    SpacetimeError,
    SumType,
    TimeDuration,
    Timestamp,
    Variant,
)
from nerv_inner_universe.client.algebraic import UNIT, SumVariant
from nerv_inner_universe.client.numbers import ascii_int
from nerv_inner_universe.client.sats_json import decode, encode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.shown import shown

CTX = TypeContext()
AB = SumType((SumVariant("A", UNIT), SumVariant("B", Primitive.U8)))
HUGE = 10**5000
NON_ASCII_DIGITS = ["\u00b2", "\u0662", "\uff11", "1\u0660", "1_0", " 1", "+1", "-1", "", "0x1"]


def _raised(call: Callable[[], object], error: type[SpacetimeError]) -> str:
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert len(message) < 400
    return message


@pytest.mark.parametrize("name", NON_ASCII_DIGITS)
def test_a_variant_tag_in_text_is_ascii_digits_only(name: str) -> None:
    _raised(lambda: encode(AB, Variant(name, 1), CTX), ArgumentError)
    _raised(lambda: decode(AB, {name: 1}, CTX), ProtocolError)
    _raised(lambda: decode(AB, [name, 1], CTX), ProtocolError)


def test_a_variant_tag_in_ascii_digits_still_works() -> None:
    assert encode(AB, Variant("1", 7), CTX) == {"B": 7}
    assert decode(AB, {"1": 7}, CTX) == Variant("B", 7)
    assert decode(AB, ["0", []], CTX) == Variant("A", ())
    _raised(lambda: decode(AB, {"1" * 5000: 7}, CTX), ProtocolError)
    _raised(lambda: encode(AB, Variant("2", 7), CTX), ArgumentError)
    _raised(lambda: encode(AB, Variant(5, 7), CTX), ArgumentError)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ty", [Primitive.U8, Primitive.I64, Primitive.U256, Primitive.F64, Primitive.F32]
)
def test_huge_ints_are_refused_with_a_short_message(ty: Primitive) -> None:
    message = _raised(lambda: encode(ty, HUGE, CTX), ArgumentError)
    assert "digits" in message
    _raised(lambda: encode(ty, -HUGE, CTX), ArgumentError)


@pytest.mark.parametrize(
    "text", ["\u0662", "1_0", " 1", "0x" + "f" * 65, "1" * 79, "1" * 5000, "0x", "-", "0x\u0662"]
)
def test_big_integers_in_text_are_ascii_and_at_most_256_bits(text: str) -> None:
    message = _raised(lambda: decode(Primitive.U256, text, CTX), ProtocolError)
    assert "1" * 100 not in message


def test_big_integers_in_text_decode() -> None:
    assert decode(Primitive.U256, "0x" + "f" * 64, CTX) == 2**256 - 1
    assert decode(Primitive.I256, "-0x10", CTX) == -16
    assert decode(Primitive.U128, "9" * 38, CTX) == int("9" * 38)


@pytest.mark.parametrize("text", ["\u0662", "0x\u0662", "1_0", " 1", "", "0x", "f" * 65])
def test_identity_hex_is_ascii_only(text: str) -> None:
    _raised(lambda: Identity.from_hex(text), ArgumentError)


@pytest.mark.parametrize(
    "value", [HUGE, -1, 2**256, 1.5, True], ids=["10**5000", "-1", "2**256", "1.5", "True"]
)
def test_identity_range_errors_are_argument_errors(value: object) -> None:
    _raised(lambda: Identity(value), ArgumentError)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [math.nan, math.inf, "1", None, True, 1e300])
def test_timestamps_from_seconds_refuse_what_is_no_time(seconds: object) -> None:
    _raised(lambda: Timestamp.from_seconds(seconds), ArgumentError)  # type: ignore[arg-type]
    _raised(lambda: TimeDuration.from_seconds(seconds), ArgumentError)  # type: ignore[arg-type]


def test_ascii_int_and_shown() -> None:
    assert ascii_int("0042", 4) == 42
    assert ascii_int("00042", 4) is None
    assert ascii_int("fF", 2, 16) == 255
    assert shown(HUGE) == "<int of about 5000 digits>"
    assert shown([HUGE]) == "<list too large to show>"
    assert shown("x" * 100).endswith("(102 characters)")


@given(
    st.one_of(
        st.text(max_size=6),
        st.sampled_from(NON_ASCII_DIGITS),
        st.integers(),
        st.none(),
        st.lists(st.integers(), max_size=3),
    ),
    st.integers() | st.text(max_size=3) | st.none(),
)
def test_decoding_a_sum_raises_only_client_errors(key: object, payload: object) -> None:
    for wire in ({key: payload} if isinstance(key, str) else None, [key, payload], key):
        try:
            decode(AB, wire, CTX)
        except ProtocolError:
            continue
