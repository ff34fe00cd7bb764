"""Canonical JSON, data_hash and parse_json, pinned to the server module's encoding."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from collections.abc import Callable

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nerv_inner_universe.delta import (
    JSON,
    MAX_DEPTH,
    InvalidJSONError,
    InvalidValueError,
    canonical_json,
    data_hash,
    json_equal,
    parse_canonical_json,
    parse_json,
)
from nerv_inner_universe.delta.values import I64_MAX, I64_MIN
from tests.strategies import deep_list, json_floats, json_values, nested_values


def reordered(value: JSON, rng: random.Random) -> JSON:
    """``value`` with every object's keys in a shuffled insertion order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: reordered(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [reordered(item, rng) for item in value]
    return value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
        ({"\ufb01": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ufb01":1}'),
        (1, "1"),
        (1.0, "1.0"),
        (-0.0, "0.0"),
        (100.0, "100.0"),
        (I64_MAX, "9223372036854775807"),
        (I64_MIN, "-9223372036854775808"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000.0"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123.456e30, "1.23456e+32"),
        (-1.5, "-1.5"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        ("aA/\u00e9", '"aA/\u00e9"'),
        ('\x1f\n"\\', '"\\u001f\\n\\"\\\\"'),
        ("\U0001f600", '"\U0001f600"'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_encoding_matches_the_server_module(value: JSON, text: str) -> None:
    # The vectors of spacetime/rules/src/json.rs.
    assert canonical_json(value) == text


def test_hash_is_sha256_of_the_canonical_utf8_bytes() -> None:
    assert data_hash({"b": 1, "a": 2}) == (
        "d3626ac30a87e6f7a6428233b3c68299976865fa5508e4267c5415c76af7a772"
    )
    text = canonical_json({"\u00e9": [1.5]})
    assert data_hash({"\u00e9": [1.5]}) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_keeps_int_and_float_apart_but_not_the_sign_of_zero() -> None:
    assert data_hash(1) != data_hash(1.0)
    assert data_hash(1) != data_hash(True)
    assert data_hash(-0.0) == data_hash(0.0)


def test_invalid_values_are_reported_as_ours_not_the_encoders() -> None:
    with pytest.raises(InvalidValueError, match=r"at '/x': float nan is not finite"):
        canonical_json({"x": float("nan")})
    with pytest.raises(InvalidValueError, match=r"outside the signed 64-bit range"):
        data_hash([2**63])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("1.0", 1.0),
        ("1e2", 100.0),
        ("-0", 0),
        (' {"a" : [ ] } ', {"a": []}),
        ('{"a":[]}\n', {"a": []}),
    ],
)
def test_parse_reads_numbers_as_the_server_does(text: str, value: JSON) -> None:
    parsed = parse_json(text)
    assert json_equal(parsed, value)
    assert json_equal(parse_canonical_json(text), value)  # any JSON text, canonical or not


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "not valid JSON: NaN is not a JSON number"),
        ("[Infinity]", "not valid JSON: Infinity is not a JSON number"),
        ('{"a": -Infinity}', "not valid JSON: -Infinity is not a JSON number"),
        ('{"a": 1, "a": 2}', "not valid JSON: duplicate key 'a' in an object"),
        ('{"a": 1, "b": 2, "b": 3, "a": 4}', "not valid JSON: duplicate key 'b' in an object"),
        ("[1e400]", "not valid JSON: the number 1e400 is out of the float range"),
        ("[1,]", "not valid JSON: Expecting value: line 1 column 4 (char 3)"),
        ("[1] x", "not valid JSON: Extra data: line 1 column 5 (char 4)"),
        (" [1] x", "not valid JSON: Extra data: line 1 column 6 (char 5)"),
        ("", "not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[" * 100_000, "not valid JSON: it nests too deeply to parse"),
    ],
)
def test_parse_rejects_what_is_not_strict_json(text: str, message: str) -> None:
    with pytest.raises(InvalidJSONError) as caught:
        parse_json(text)
    assert str(caught.value) == message
    with pytest.raises(InvalidJSONError) as caught:
        parse_canonical_json(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', '{"a":{"b":1,"b":1}}', '[{"k":[],"k":[]}]'])
def test_a_repeated_key_is_refused_in_text_that_looks_canonical(text: str) -> None:
    with pytest.raises(InvalidJSONError, match="duplicate key"):
        parse_canonical_json(text)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"a": [9223372036854775808]}', "/a/0"),
        ('["\\ud800"]', "/0"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "/0" * MAX_DEPTH),
    ],
)
def test_parse_rejects_json_outside_the_value_model(text: str, path: str) -> None:
    for parse in (parse_json, parse_canonical_json):
        with pytest.raises(InvalidValueError) as caught:
            parse(text)
        assert caught.value.path == path


@pytest.mark.parametrize("text", [5, None, b"{}"])
def test_parsing_refuses_what_is_not_text(text: object) -> None:
    for parse in (parse_json, parse_canonical_json):
        with pytest.raises(InvalidJSONError, match="JSON text must be a str"):
            parse(text)  # type: ignore[arg-type]


def test_an_integer_over_pythons_digit_limit_is_named_by_its_path() -> None:
    text = '{"n": [' + "9" * 5_000 + "]}"
    for parse in (parse_json, parse_canonical_json):
        with pytest.raises(InvalidValueError) as caught:
            parse(text)
        assert caught.value.path == "/n/0"


@given(json_values(), st.randoms(use_true_random=False))
def test_canonical_text_ignores_key_order(value: JSON, rng: random.Random) -> None:
    assert canonical_json(reordered(value, rng)) == canonical_json(value)


def float_free(value: JSON) -> JSON:
    """``value`` with its floats as ints, so it takes the standard library's encoder."""
    if isinstance(value, float):
        return int(value) if abs(value) < 2**62 else 0
    if isinstance(value, dict):
        return {key: float_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [float_free(item) for item in value]
    return value


@given(json_values(max_depth=MAX_DEPTH - 1))
@example("".join(map(chr, range(0x80))) + "\u2028\u2029\ud7ff\ue000\uffff\U0010ffff")
@example({"\ue000": 1, "\uffff": {"\U00010000": 2, "\uff61": 3}, "a\x00": [-(2**63), 2**63 - 1]})
@example([{"\x1f": "\x7f"}] * 3)
def test_the_fast_path_writes_what_the_reference_path_writes(value: JSON) -> None:
    # Values without floats (and without keys beyond U+FFFF) are written by orjson; a float
    # anywhere sends the whole value through the rfc8785-based reference encoder, so wrapping
    # next to a float compares the two.
    value = float_free(value)
    assert canonical_json([value, 0.5]) == f"[{canonical_json(value)},0.5]"


@given(json_values())
def test_parse_gives_the_value_back(value: JSON) -> None:
    # Exact (json_equal): 1.0 stays a float; only -0.0 reads back as 0.0, which is equal.
    text = canonical_json(value)
    assert json_equal(parse_json(text), value)
    assert canonical_json(parse_json(text)) == text
    assert json_equal(parse_canonical_json(text), value)
    assert json_equal(parse_canonical_json(text), parse_json(text))


@given(json_floats())
def test_floats_read_back_as_the_same_float(number: float) -> None:
    parsed = parse_json(canonical_json(number))
    assert type(parsed) is float
    assert parsed == number


def outcome(parse: Callable[[str], JSON], text: str) -> tuple[str, str]:
    """What ``parse`` makes of ``text``: the value's repr (which tells bool, int and float
    apart, keeps key order and the sign of -0.0) or the error's type and message."""
    try:
        return ("value", repr(parse(text)))
    except (InvalidJSONError, InvalidValueError) as error:
        return (type(error).__name__, str(error))


def texts_of(value: object) -> list[str]:
    """JSON texts of ``value`` as several writers put it: compact in insertion order (as
    ``orjson`` writes, whose quick path reads canonical text), spaced and ASCII-escaped, by
    ``orjson`` itself where it can, and each of those twice under one key."""
    texts = [
        json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        json.dumps(value),
    ]
    with contextlib.suppress(orjson.JSONEncodeError):  # an int beyond 64 bits, a surrogate
        texts.append(orjson.dumps(value).decode())
    return texts + [f'{{"k":{text},"k":{text}}}' for text in texts]


@given(
    json_values()
    | st.lists(st.integers() | st.floats(allow_nan=False) | st.text(), max_size=4)
    | nested_values(MAX_DEPTH + 1)
)
@example([2**53, -(2**53), 1e20, -0.0, 1.0, 5e-324])
@example([2**63])  # within u64, which orjson reads and writes; beyond i64
@example([-(2**63) - 1])
@example([2**64])
@example(deep_list(MAX_DEPTH))
@example(deep_list(MAX_DEPTH + 1))
@example(["\ud800", {"\udfff": 1}, "\u2028\x7f\x00"])
@example([[]] * (MAX_DEPTH + 1))
def test_parsing_canonical_text_gives_what_parse_json_gives_for_any_text(value: object) -> None:
    # parse_canonical_json takes orjson's quick path only when orjson writes the text back byte
    # for byte; whatever the text, the value (types, key order, -0.0) or the error is
    # parse_json's.
    for text in texts_of(value):
        assert outcome(parse_canonical_json, text) == outcome(parse_json, text), text
