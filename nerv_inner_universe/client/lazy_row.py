"""`LazyRow`: a table row decoded column by column, when each is first read.

A streamed table whose reader looks at a few columns of most rows (a log follower telling its
own rows from others' by ``seq`` and id) need not decode every column of every row: see
`TableCache.stream`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from .protocol import RawValue
from .values import Row


class ColumnReader(Protocol):
    """How a codec reads the columns of one table's rows (see `LazyRow`)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The columns' names in row order."""
        ...

    def load(self, raw: RawValue) -> Any:
        """The row's wire text parsed (not decoded); ProtocolError when it is no row."""
        ...

    def column(self, loaded: Any, name: str) -> object:
        """Column ``name`` of a loaded row, decoded; ProtocolError when it does not fit,
        KeyError when the table has no such column."""
        ...


class LazyRow(Mapping[str, object]):
    """A row as the server sent it; a column is decoded when first read (``row["seq"]``,
    ``row.seq``) and then kept. Rows are equal (and hash alike) when the server sent the same
    text. Reading a column that does not fit its type raises ProtocolError then, not when the
    row arrived. `decode` gives the whole row as a `Row`."""

    __slots__ = ("_decoded", "_loaded", "_raw", "_reader")

    def __init__(self, raw: RawValue, reader: ColumnReader) -> None:
        self._raw = raw
        self._reader = reader
        self._loaded: Any = None
        self._decoded: dict[str, object] = {}

    def __getitem__(self, name: str) -> object:
        decoded = self._decoded
        if name in decoded:
            return decoded[name]
        if self._loaded is None:
            self._loaded = self._reader.load(self._raw)
        value = decoded[name] = self._reader.column(self._loaded, name)
        return value

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"row has no field {name!r}; fields: {self._reader.names}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._reader.names)

    def __len__(self) -> int:
        return len(self._reader.names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyRow):
            return self._raw == other._raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"LazyRow({self._raw!r})"

    def decode(self) -> Row:
        """Every column, as a `Row`."""
        names = self._reader.names
        return Row.from_fields(names, tuple(self[name] for name in names))
