"""Typed settings: each field says what values it takes and how it is written in TOML and in an
environment variable, so one loader (`load`) checks every key of every table the same way.

Each helper returns an ``attrs.field`` whose validator raises `ConfigError` naming the setting,
so a settings class refuses a bad value whether it was loaded or constructed directly.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from nerv_inner_universe.config.errors import ConfigError
from nerv_inner_universe.shown import shown

MAX_INT = 2**31 - 1
_METADATA_KEY = "nerv_inner_universe.config"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.frozen
class Kind:
    """What one setting accepts.

    ``expected`` completes "must be ...". ``holds`` tells a valid value (after conversion) from
    an invalid one. ``parse`` turns an environment variable's text into a value, raising
    ValueError when it cannot. ``from_toml`` adapts a TOML value (paths are relative to the
    file's directory, ``base``). A ``secret`` is never shown: not in messages, not in repr.
    """

    expected: str
    holds: Callable[[Any], bool]
    parse: Callable[[str], Any]
    from_toml: Callable[[Any, Path | None], Any] = lambda raw, _: raw
    secret: bool = False

    def refusal(self, value: object) -> str:
        """The reason a value is refused: ``must be <expected>, got <value>``."""
        given = f"a {type(value).__name__} (hidden)" if self.secret else shown(value)
        return f"must be {self.expected}, got {given}"


def kind_of(attribute: attrs.Attribute[Any]) -> Kind | None:
    """The `Kind` of a field made by this module (None for any other field)."""
    kind = attribute.metadata.get(_METADATA_KEY)
    return kind if isinstance(kind, Kind) else None


def _field(default: object, kind: Kind, converter: Callable[[Any], Any] | None = None) -> Any:
    def validate(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not kind.holds(value):
            raise ConfigError(attribute.name, kind.refusal(value))

    return attrs.field(
        default=default,
        validator=validate,
        converter=converter,
        repr=not kind.secret,
        metadata={_METADATA_KEY: kind},
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ASCII_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _parse_int(text: str) -> int:
    """ASCII digits only: ``int()`` would take ``"٢"`` as 2 and refuse 4,300 digits untyped."""
    if not _ASCII_INTEGER.fullmatch(text):
        raise ValueError("not an integer in ASCII digits")
    return int(text)


def integer(default: int, *, low: int = 1, high: int = MAX_INT) -> Any:
    """An integer from ``low`` to ``high`` (TOML ``3``, environment ``"3"`` in ASCII digits;
    not ``true``)."""
    return _field(
        default,
        Kind(
            f"an integer from {low} to {high}",
            lambda v: _is_int(v) and low <= v <= high,
            _parse_int,
        ),
    )


def _int_to_float(value: Any) -> Any:
    return float(value) if _is_int(value) else value


def seconds(default: float, *, high: float = math.inf) -> Any:
    """A duration in seconds, finite, greater than 0 and at most ``high`` (TOML ``30`` or
    ``2.5``)."""
    at_most = "" if high == math.inf else f" and at most {high:g}"
    return _field(
        default,
        Kind(
            f"a number of seconds greater than 0{at_most}",
            lambda v: isinstance(v, float) and math.isfinite(v) and 0 < v <= high,
            float,
        ),
        converter=_int_to_float,
    )


def _parse_bool(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(text)


def boolean(default: bool) -> Any:
    """TOML ``true``/``false`` only (the string ``"false"`` is refused); in the environment
    ``true``/``false``, ``1``/``0``, ``yes``/``no`` or ``on``/``off``."""
    return _field(
        default,
        Kind(
            "true or false (in the environment also 1/0, yes/no, on/off)",
            lambda v: isinstance(v, bool),
            _parse_bool,
        ),
    )


def text(
    default: str | None,
    *,
    expected: str = "a non-empty string",
    holds: Callable[[str], bool] = bool,
    optional: bool = False,
    secret: bool = False,
) -> Any:
    """A string for which ``holds`` is true (``expected`` describes it); ``optional`` also takes
    None, which an empty environment variable means. A ``secret`` never appears in repr() or in
    error messages."""

    def valid(value: object) -> bool:
        return (optional and value is None) or (isinstance(value, str) and holds(value))

    def parse(raw: str) -> str | None:
        return None if optional and not raw else raw

    return _field(
        default,
        Kind(expected + (" (or unset)" if optional else ""), valid, parse, secret=secret),
    )


def choice(default: str, choices: tuple[str, ...]) -> Any:
    """One of ``choices`` (strings)."""
    return _field(
        default,
        Kind(
            " or ".join(repr(c) for c in choices),
            lambda v: isinstance(v, str) and v in choices,
            str,
        ),
    )


def _absolute(value: Any) -> Any:
    if isinstance(value, str | os.PathLike):
        return Path(value).expanduser().absolute()
    return value


def path(default: Path | None, *, optional: bool = False) -> Any:
    """A filesystem path, made absolute: in TOML relative to the file's directory, elsewhere to
    the working directory; ``~`` is expanded. ``optional`` also takes None (an empty
    environment variable)."""

    def parse(raw: str) -> Path | None:
        if not raw:
            if optional:
                return None
            raise ValueError(raw)
        return Path(raw)

    def from_toml(raw: Any, base: Path | None) -> Any:
        if isinstance(raw, str) and base is not None:
            return base / Path(raw).expanduser()
        return raw

    return _field(
        default,
        Kind(
            "a path string" + (" (or unset)" if optional else ""),
            lambda v: isinstance(v, Path) or (optional and v is None),
            parse,
            from_toml,
        ),
        converter=_absolute,
    )


def _list_to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def names(default: tuple[str, ...] = (), *, expected: str = "a list of non-empty strings") -> Any:
    """A list of non-empty strings (TOML ``["a", "b"]``, environment ``"a,b"``), kept as a
    tuple."""
    return _field(
        default,
        Kind(
            expected,
            lambda v: isinstance(v, tuple) and all(isinstance(n, str) and n for n in v),
            lambda raw: tuple(part.strip() for part in raw.split(",") if part.strip()),
        ),
        converter=_list_to_tuple,
    )


def is_base_url(value: str) -> bool:
    """An ``http://`` or ``https://`` URL with a host, a port (if any) from 1 to 65535, and no
    path, query or fragment."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:  # also a malformed IPv6 host ("http://[::1")
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and port != 0
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


BASE_URL = "an http:// or https:// URL of a server, without a path"
"""Describes `is_base_url`, for ``text(expected=...)``."""
