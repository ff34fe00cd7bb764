"""Canonical JSON text and ``data_hash``: the same bytes the server module stores and hashes.

The encoding is RFC 8785 (JCS) with the two deviations of ``spacetime/rules/src/json.rs``,
which keep the upstream ``Integer(i64)`` / ``Float(f64)`` distinction exact:

1. integers are written as exact decimal ``i64`` (JCS refuses those beyond 2**53);
2. a float whose JCS form has no ``.`` or exponent gets ``.0`` appended, so it reads back as a
   float: ``1.0`` is ``1.0`` (plain JCS writes ``1``), ``1e20`` is
   ``100000000000000000000.0``, and ``-0.0`` is ``0.0``.

Everything else is JCS, via the ``rfc8785`` package: object members sorted by their UTF-16 code
units, no whitespace, strings escaped as ECMAScript's ``JSON.stringify`` does, floats written as
ECMAScript's ``Number.prototype.toString``; the text is UTF-8. So ``parse_json(canonical_json(v))``
gives back ``v`` exactly (``json_equal``), bool, int and float kept apart, with one exception:
``-0.0`` comes back as ``0.0``. Hence ``data_hash(1) != data_hash(1.0)`` and
``data_hash(-0.0) == data_hash(0.0)``, exactly as on the server.
"""

from __future__ import annotations

import hashlib
import json
import math

import orjson
import rfc8785

from nerv_inner_universe.delta.errors import InvalidJSONError
from nerv_inner_universe.delta.values import (
    JSON,
    MAX_DEPTH,
    describe_kind,
    int_literal,
    plain_json,
    validate_json,
)
from nerv_inner_universe.shown import quote


def canonical_json(value: JSON, name: str = "value") -> str:
    """The canonical text of ``value`` (validated first, so errors name the bad path: an
    `InvalidValueError` calling the value ``name``, as `validate_json` does)."""
    return _canonical_bytes(value, name).decode("utf-8")


def data_hash(value: JSON) -> str:
    """Lowercase hex SHA-256 of the canonical text's UTF-8 bytes, as in ``state_version``."""
    return hashlib.sha256(_canonical_bytes(value)).hexdigest()


def _canonical_bytes(value: JSON, name: str = "value") -> bytes:
    if plain_json(value):
        # orjson writes such a value's canonical text: ints exact (to 64 bits), strings escaped
        # as JCS does, keys sorted by code point, which is UTF-16 order within the Basic
        # Multilingual Plane.
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    validate_json(value, name)
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: JSON, out: list[bytes]) -> None:
    if type(value) is int:
        out.append(str(value).encode("ascii"))
    elif type(value) is float:
        text = rfc8785.dumps(value)
        out.append(text if b"." in text or b"e" in text else text + b".0")
    elif type(value) is list:
        out.append(b"[")
        for position, item in enumerate(value):
            if position:
                out.append(b",")
            _encode(item, out)
        out.append(b"]")
    elif type(value) is dict:
        out.append(b"{")
        members = sorted(value.items(), key=lambda member: member[0].encode("utf-16-be"))
        for position, (key, item) in enumerate(members):
            if position:
                out.append(b",")
            out.append(rfc8785.dumps(key))
            out.append(b":")
            _encode(item, out)
        out.append(b"}")
    else:
        out.append(rfc8785.dumps(value))


def parse_json(text: str) -> JSON:
    """Parse strict JSON: no NaN or Infinity literals, no duplicate keys, then ``validate_json``.

    Numbers with a ``.`` or an exponent are floats, others ints, as the server reads them.
    Raises :class:`InvalidJSONError` for text that is not strict JSON and
    :class:`InvalidValueError` for JSON outside the value model (e.g. an integer beyond i64,
    found by its digits before any conversion, so its path is named however long it is).
    """
    if type(text) is not str:
        raise InvalidJSONError(f"JSON text must be a str, not {describe_kind(text)}")
    try:
        value = _decoded(text)
    except json.JSONDecodeError as error:
        raise InvalidJSONError(f"not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidJSONError("not valid JSON: it nests too deeply to parse") from None
    validate_json(value)
    return value


def parse_canonical_json(text: str) -> JSON:
    """`parse_json` for text a store guarantees to be canonical (`canonical_json`'s, as the
    server module stores every JSON column). The value and the errors are `parse_json`'s for
    any text, but for one: called with less Python stack left than the text nests deep,
    `parse_json` fails ("nests too deeply to parse") where the first tier below, which does not
    recurse in Python, reads the value. Replay parses every event's data with it, so it takes
    the quickest proof first:

    1. ``orjson`` parses the text, when it cannot nest deeper than ``MAX_DEPTH`` (too short,
       or at most that many opening brackets), and writes the value again (keys in the order
       read; ints within 53 bits, else it refuses). When that gives back the text byte for
       byte, the text is strict JSON with no repeated key, no whitespace and no lone
       surrogate, its ints are within i64 and its floats are the shortest forms of the values
       read (so any correctly rounding parser reads the same): `parse_json` gives this value.
       Canonical text without floats reads back so (`canonical_json` and ``orjson`` escape
       strings alike), in a fraction of the next tier's time.
    2. Otherwise the standard library's C decoder with only `parse_json`'s per-object hook (a
       repeated key), when the value is `plain_json` (no floats, ints within i64, no lone
       surrogate, at most ``MAX_DEPTH`` deep): canonical floats (``1.0``) and long arrays.
    3. Otherwise `parse_json` itself."""
    if type(text) is str:
        value: JSON
        # A text ``MAX_DEPTH + 1`` deep holds that many brackets, each closed.
        if len(text) < 2 * (MAX_DEPTH + 1) or text.count("{") + text.count("[") <= MAX_DEPTH:
            try:
                value = orjson.loads(text)
                if orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER) == text.encode():
                    return value
            except (orjson.JSONDecodeError, orjson.JSONEncodeError):
                pass  # not JSON, a lone surrogate, an int beyond 53 bits: the next tier tells
        try:
            value, end = _PLAIN_DECODER.raw_decode(text)
        except (ValueError, RecursionError):  # not JSON, a repeated key, an int too long...
            end = -1
        if end == len(text) and plain_json(value):
            return value
    return parse_json(text)


def _decoded(text: str) -> JSON:
    """``_DECODER.decode(text)``, without its two scans for whitespace around the value when
    there is none (canonical text has none): whatever else ``raw_decode`` meets is answered
    by ``decode`` itself."""
    value: JSON
    try:
        value, end = _DECODER.raw_decode(text)
    except json.JSONDecodeError:
        end = -1  # e.g. whitespace first: decode gives its own value or error
    if end != len(text):
        value = _DECODER.decode(text)
    return value


def _unique_keys(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    value = dict(pairs)
    if len(value) < len(pairs):  # a key came twice: name the first one repeated
        seen: set[str] = set()
        key = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise InvalidJSONError(f"not valid JSON: duplicate key {quote(key)} in an object")
    return value


def _reject_constant(literal: str) -> JSON:
    raise InvalidJSONError(f"not valid JSON: {literal} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise InvalidJSONError(f"not valid JSON: the number {literal} is out of the float range")
    return number


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
    parse_int=int_literal,
)
"""`parse_json`'s strict decoder, built once (``json.loads`` with hooks builds one per call, which
costs about as much as decoding a small object). It holds no state between calls but a cache
of key strings, so threads may share it, as they share ``json.loads``'s own."""

_PLAIN_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)
"""`parse_canonical_json`'s decoder: the C scanner does all the work but refusing a repeated
key (`InvalidJSONError`, a ValueError)."""
