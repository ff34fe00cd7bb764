"""JSON values as plain Python data, checked against the upstream ``Value`` model.

``Value = Null | Bool | Integer(i64) | Float(f64) | String | Array | Object``: the exact types
``None``, ``bool``, ``int`` (signed 64-bit), ``float`` (finite), ``str`` (encodable as UTF-8),
``list`` and ``dict`` with ``str`` keys. Subclasses (enums, ``OrderedDict``) are refused rather
than converted, so what is hashed and stored is exactly what the caller holds. Containers nest
at most :data:`MAX_DEPTH` deep, the server's limit, which also keeps every recursion here safe.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import attrs

from nerv_inner_universe.delta.errors import InvalidValueError
from nerv_inner_universe.delta.paths import join_path
from nerv_inner_universe.shown import quote, shown

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None

MAX_DEPTH = 128
"""Most containers (lists and dicts) that may enclose one another, as the server allows."""

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
"""The range of ``Integer(i64)``."""

I64_DIGITS = 19
"""Most decimal digits of an ``i64`` (sign not counted): a longer literal is out of range."""


@attrs.frozen
class OversizedInteger:
    """An integer literal with more than :data:`I64_DIGITS` digits, kept as text.

    ``parse_json`` puts it where the number was instead of calling ``int()`` (which refuses
    4,300 digits and more), so ``validate_json`` reports it, with its path, as out of range.
    """

    literal: str


def int_literal(literal: str) -> int | OversizedInteger:
    """``int(literal)`` for a JSON integer literal within i64's digits, else the literal kept."""
    if len(literal.lstrip("-")) > I64_DIGITS:
        return OversizedInteger(literal)
    return int(literal)


class _Invalid(Exception):
    """Carries a problem up the recursion; each level adds its token, so success costs nothing."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.reversed_tokens: list[str] = []


def validate_json(value: object, name: str = "value") -> None:
    """Raise :class:`InvalidValueError` naming the path of the first item that is not JSON.

    ``name`` says what the value is in the message (``"state"``, ``"patch"``). Nothing is
    converted: a tuple is an error, not a list.
    """
    if plain_json(value):
        return
    try:
        _check(value, 0)
    except _Invalid as invalid:
        path = join_path("", *reversed(invalid.reversed_tokens))
        raise InvalidValueError(name, path, invalid.problem) from None


def plain_json(value: object, depth: int = 0) -> bool:  # noqa: PLR0911 - one answer per kind
    """Whether ``value`` (at nesting ``depth``) is valid JSON, as `validate_json` checks it,
    without floats and with no object key holding a character beyond U+FFFF: the common case,
    which validation accepts and `canonical_json` writes with ``orjson`` after this one quick
    walk."""
    if type(value) is str:
        return value.isascii() or _utf8(value)
    if type(value) is int:
        return I64_MIN <= value <= I64_MAX
    if value is None or type(value) is bool:
        return True
    if depth == MAX_DEPTH:
        return False
    if type(value) is dict:  # a loop, not all(): it runs for every event written and replayed
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or (_utf8(key) and max(key) <= "\uffff")):
                return False
            if type(item) is str:  # the usual member, checked without a call
                if not (item.isascii() or _utf8(item)):
                    return False
            elif not plain_json(item, depth + 1):
                return False
        return True
    if type(value) is list:
        return all(plain_json(item, depth + 1) for item in value)
    return False  # floats and what is not JSON


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value: object, depth: int) -> None:
    if value is None or type(value) is bool:
        return
    if type(value) is int:
        if not I64_MIN <= value <= I64_MAX:
            raise _Invalid(f"integer {shown(value)} is outside the signed 64-bit range")
    elif type(value) is OversizedInteger:
        raise _Invalid(f"integer {quote(value.literal)} is outside the signed 64-bit range")
    elif type(value) is float:
        if not math.isfinite(value):
            raise _Invalid(f"float {value!r} is not finite; JSON has no NaN or infinities")
    elif type(value) is str:
        _check_utf8(value, "string")
    elif type(value) is list or type(value) is dict:
        _check_container(value, depth)
    else:
        raise _Invalid(
            f"{type(value).__name__} is not a JSON type; use None, bool, int, float, str, "
            "list or dict"
        )


def _check_container(value: list[object] | dict[object, object], depth: int) -> None:
    if depth == MAX_DEPTH:
        raise _Invalid(f"containers nest more than {MAX_DEPTH} deep")
    if type(value) is dict:
        for key, item in value.items():
            _check_member(_checked_key(key), item, depth + 1)
    else:
        for index, item in enumerate(value):
            _check_member(str(index), item, depth + 1)


def _check_member(token: str, item: object, depth: int) -> None:
    try:
        _check(item, depth)
    except _Invalid as invalid:
        invalid.reversed_tokens.append(token)
        raise


def _checked_key(key: object) -> str:
    if type(key) is not str:
        raise _Invalid(f"key {shown(key)} is {describe_kind(key)}; object keys must be str")
    _check_utf8(key, "key")
    return key


def _check_utf8(text: str, what: str) -> None:
    if not _utf8(text):
        raise _Invalid(
            f"{what} {quote(text)} holds a lone surrogate, which UTF-8 (and so JSON text) "
            "cannot carry"
        )


def describe_kind(value: object) -> str:
    """``value``'s JSON kind with an article, for messages (``"an integer"``, ``"a list"``)."""
    kinds = {
        type(None): "null",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return kinds.get(type(value), f"a {type(value).__name__}")


def json_equal(a: JSON, b: JSON) -> bool:
    """Equality that keeps JSON's distinctions Python's ``==`` blurs.

    ``True != 1`` and ``1 != 1.0`` here (bool, int and float are different kinds), while dict
    key order is irrelevant. ``-0.0`` equals ``0.0``, as in the canonical form and the hash.
    """
    if type(a) is dict:
        return (
            type(b) is dict
            and a.keys() == b.keys()
            and all(json_equal(item, b[key]) for key, item in a.items())
        )
    if type(a) is list:
        return (
            type(b) is list
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return type(a) is type(b) and a == b


def copy_json(value: JSON) -> JSON:
    """A deep copy of a valid JSON value (containers are new, scalars are immutable)."""
    if type(value) is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if type(value) is list:
        return [copy_json(item) for item in value]
    return value
