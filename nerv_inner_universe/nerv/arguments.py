"""Checks at the edge of the NERV core's public calls.

A wrong argument must fail where it is passed, with an error that names it, not later as a
``TypeError`` from inside a lock, a deque or ``dict()``. Each check raises
``InvalidArgumentError`` or the subclass the caller passes (``InvalidEventError``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from nerv_inner_universe.delta import JSON, InvalidValueError, validate_json
from nerv_inner_universe.nerv.errors import InvalidArgumentError
from nerv_inner_universe.shown import shown

Error = type[InvalidArgumentError]


def _refuse(name: str, expected: str, value: object, error: Error) -> InvalidArgumentError:
    return error(f"{name} must be {expected}, not {shown(value)} ({type(value).__name__})")


def require_str(
    name: str,
    value: object,
    *,
    optional: bool = False,
    non_empty: bool = False,
    error: Error = InvalidArgumentError,
) -> None:
    """``value`` is a str (non-empty if asked) that UTF-8 can carry, or None when ``optional``.

    Text holding a lone surrogate (``"\\udc00"``, as ``surrogateescape`` decoding makes) is
    refused here: no store, file or wire format can hold it, so it would fail later, far from
    the caller.
    """
    if value is None and optional:
        return
    if type(value) is not str or (non_empty and not value):
        expected = "a non-empty str" if non_empty else "a str"
        raise _refuse(name, expected + (" or None" if optional else ""), value, error)
    require_utf8(name, value, error=error)


def require_utf8(name: str, value: str, *, error: Error = InvalidArgumentError) -> None:
    """``value`` can be encoded as UTF-8 (holds no lone surrogate), else ``error`` naming
    ``name``, the position and why."""
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as invalid:
        raise error(
            f"{name} {shown(value)} holds a lone surrogate at index {invalid.start}, which "
            "UTF-8 (and so no store) can carry; decode bytes strictly, or replace it"
        ) from invalid


def require_int(
    name: str,
    value: object,
    *,
    minimum: int | None = None,
    optional: bool = False,
    error: Error = InvalidArgumentError,
) -> None:
    """``value`` is an int (not a bool) of at least ``minimum``, or None when ``optional``."""
    if value is None and optional:
        return
    if type(value) is not int or (minimum is not None and value < minimum):
        expected = "an int" if minimum is None else f"an int >= {minimum}"
        raise _refuse(name, expected + (" or None" if optional else ""), value, error)


def require_seconds(name: str, value: object, *, error: Error = InvalidArgumentError) -> None:
    """``value`` is epoch seconds: a finite int or float (not a bool)."""
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        raise _refuse(name, "a finite number of seconds", value, error)


def require_instance(
    name: str, value: object, kind: type, *, error: Error = InvalidArgumentError
) -> None:
    """``value`` is a ``kind`` (an instance of it or of a subclass)."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[:1] in "AEIOU" else "a"
        raise _refuse(name, f"{article} {kind.__name__}", value, error)


def require_callable(name: str, value: object) -> None:
    if not callable(value):
        raise _refuse(name, "callable", value, InvalidArgumentError)


def json_object(
    name: str, value: object, *, error: Error = InvalidArgumentError
) -> dict[str, JSON]:
    """A new dict holding ``value``'s items: a mapping of str to JSON values.

    A non-mapping, or a key or item that is not JSON (NaN, infinity, a non-str key, a set, an
    int beyond 64 bits, a lone surrogate, nesting deeper than the limit...), raises ``error``
    naming ``name`` (and the path), chained from the delta layer's ``InvalidValueError``.
    """
    if not isinstance(value, Mapping):
        raise _refuse(name, "a dict of str to JSON values", value, error)
    copied = dict(value)
    try:
        validate_json(copied, name)
    except InvalidValueError as invalid:
        raise error(str(invalid)) from invalid
    return copied


def str_tuple(name: str, value: object, *, error: Error = InvalidArgumentError) -> tuple[str, ...]:
    """``value``'s items as a tuple: an iterable of str, not a str itself (which would split)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _refuse(name, "an iterable of str", value, error)
    items = tuple(value)
    for item in items:
        require_str(f"each of {name}", item, error=error)
    return items
