"""Python values for SATS types that have no natural Python equivalent.

Everything here is immutable and hashable, so decoded rows can be keys of the client cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs

from nerv_inner_universe.micros import nearest_micros
from nerv_inner_universe.shown import shown

from .errors import ArgumentError
from .numbers import ascii_int

_U128 = 1 << 128
_U256 = 1 << 256
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _in_range(low: int, high: int) -> Any:
    def check(_: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
            raise ArgumentError(
                f"{attribute.name} must be an int in [{low}, {high}), got {shown(value)}"
            )

    return check


def _parse_hex(text: str, digits: int, what: str) -> int:
    if not isinstance(text, str):
        raise ArgumentError(f"{what} must be given as hex text, got {type(text).__name__}")
    body = text[2:] if text[:2].lower() == "0x" else text
    number = ascii_int(body, digits, 16)
    if number is None:
        raise ArgumentError(f"{what} must be 1 to {digits} hex digits, got {shown(text)}")
    return number


def micros_from_seconds(seconds: float) -> int:
    """``seconds`` in whole microseconds, the nearest (ties to even) to the number's exact
    value, with no range limit; ArgumentError unless a finite int or float."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ArgumentError(f"seconds must be an int or float, got {type(seconds).__name__}")
    try:
        return nearest_micros(seconds)
    except (OverflowError, ValueError):  # inf, nan
        raise ArgumentError(f"seconds must be finite, got {seconds!r}") from None


@attrs.frozen(order=True)
class Identity:
    """A 256-bit identity (a user or a database); shown as 64 hex digits like the server does."""

    value: int = attrs.field(validator=_in_range(0, _U256), repr=False)

    @classmethod
    def from_hex(cls, text: str) -> Identity:
        """Accepts the server's forms: 64 hex digits, with or without ``0x``."""
        return cls(_parse_hex(text, 64, "an Identity"))

    @property
    def hex(self) -> str:
        """64 lowercase hex digits, without ``0x``."""
        return f"{self.value:064x}"

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"Identity({self.hex!r})"


@attrs.frozen(order=True)
class ConnectionId:
    """A 128-bit id of one connection; zero means "no connection" (scheduled reducers)."""

    value: int = attrs.field(validator=_in_range(0, _U128), repr=False)

    ZERO: ClassVar[ConnectionId]

    @classmethod
    def from_hex(cls, text: str) -> ConnectionId:
        """Accepts 32 hex digits, with or without ``0x``."""
        return cls(_parse_hex(text, 32, "a ConnectionId"))

    @property
    def hex(self) -> str:
        """32 lowercase hex digits, without ``0x``."""
        return f"{self.value:032x}"

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"ConnectionId({self.hex!r})"


ConnectionId.ZERO = ConnectionId(0)


@attrs.frozen(order=True)
class Timestamp:
    """A point in time in whole microseconds since the Unix epoch, the server's resolution."""

    micros_since_epoch: int = attrs.field(validator=_in_range(_I64_MIN, _I64_MAX + 1))

    @classmethod
    def from_datetime(cls, moment: datetime) -> Timestamp:
        """Needs an aware datetime: a naive one would silently mean local time."""
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ArgumentError("Timestamp.from_datetime needs an aware datetime (tzinfo set)")
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        return cls((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)

    @classmethod
    def from_seconds(cls, seconds: float) -> Timestamp:
        """Rounds to the nearest microsecond, as the server would store it."""
        return cls(micros_from_seconds(seconds))

    @classmethod
    def now(cls) -> Timestamp:
        """The current time, to the microsecond."""
        return cls(time.time_ns() // 1_000)

    @property
    def seconds(self) -> float:
        """Seconds since the Unix epoch, as a float."""
        return self.micros_since_epoch / 1_000_000

    def isoformat(self) -> str:
        """ISO 8601 in UTC (``2026-01-02T03:04:05.000006+00:00``); beyond datetime's years 1 to
        9999, the microseconds since the epoch (``-9223372036854775808 µs since the Unix
        epoch``). Never raises."""
        try:
            return self.to_datetime().isoformat()
        except ArgumentError:
            return f"{self.micros_since_epoch} µs since the Unix epoch"

    def to_datetime(self) -> datetime:
        """Raises ArgumentError (a ValueError) beyond datetime's years 1 to 9999 (a Timestamp
        reaches further)."""
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
                microseconds=self.micros_since_epoch
            )
        except OverflowError:
            raise ArgumentError(f"{self} is outside the range of datetime") from None


@attrs.frozen(order=True)
class TimeDuration:
    """A signed duration in whole microseconds."""

    micros: int = attrs.field(validator=_in_range(_I64_MIN, _I64_MAX + 1))

    @classmethod
    def from_timedelta(cls, delta: timedelta) -> TimeDuration:
        """Exact: a timedelta has microsecond resolution too."""
        if not isinstance(delta, timedelta):
            raise ArgumentError(f"expected a timedelta, got {type(delta).__name__}")
        return cls((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)

    @classmethod
    def from_seconds(cls, seconds: float) -> TimeDuration:
        """Rounds to the nearest microsecond."""
        return cls(micros_from_seconds(seconds))

    @property
    def seconds(self) -> float:
        """The duration in seconds, as a float."""
        return self.micros / 1_000_000

    def to_timedelta(self) -> timedelta:
        """The same duration as a timedelta."""
        return timedelta(microseconds=self.micros)


@attrs.frozen
class Variant:
    """A value of a sum type (an enum) other than ``Option``: the variant's name and payload
    (``()`` for a variant without data)."""

    name: str
    value: object = ()


def field(value: Any, name: str) -> Any:
    """Field ``name`` of a decoded product value: a `Row` (or any mapping) by key, an instance
    of a registered class by attribute. Raises KeyError / AttributeError when it has none."""
    if isinstance(value, Row | Mapping):  # Row first: a concrete class is checked fastest
        return value[name]
    return getattr(value, name)


class Row(Mapping[str, object]):
    """A decoded product value (a table row, a struct): an immutable, hashable mapping of field
    name to value in declaration order, also readable as attributes (``row.entity_id``)."""

    __slots__ = ("_hash", "_names", "_values")

    _names: tuple[str, ...]
    _values: tuple[object, ...]
    _hash: int | None

    def __init__(self, **fields: object) -> None:
        object.__setattr__(self, "_names", tuple(fields))
        object.__setattr__(self, "_values", tuple(fields.values()))
        object.__setattr__(self, "_hash", None)

    @classmethod
    def from_fields(cls, names: tuple[str, ...], values: tuple[object, ...]) -> Row:
        """Builds a row from parallel tuples; names need not be Python identifiers."""
        if len(names) != len(values):
            raise ArgumentError(f"{len(names)} field names but {len(values)} values")
        row = cls.__new__(cls)
        object.__setattr__(row, "_names", names)
        object.__setattr__(row, "_values", values)
        object.__setattr__(row, "_hash", None)
        return row

    @property
    def field_names(self) -> tuple[str, ...]:
        """The fields' names in declaration order."""
        return self._names

    def as_tuple(self) -> tuple[object, ...]:
        """The values in declaration order (the positional wire shape)."""
        return self._values

    def __getitem__(self, name: str) -> object:
        try:
            return self._values[self._names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __getattr__(self, name: str) -> object:
        try:
            return self._values[self._names.index(name)]
        except ValueError:
            raise AttributeError(f"row has no field {name!r}; fields: {self._names}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Row is immutable")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._names == other._names and self._values == other._values
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        cached = self._hash
        if cached is None:
            cached = hash((self._names, self._values))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(self._names, self._values, strict=True))
        return f"Row({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Lets copy and pickle rebuild the row despite ``__setattr__`` refusing writes."""
        return (Row.from_fields, (self._names, self._values))
