"""The wire format behind one interface, so the connection and its callers do not depend on
it: `JsonCodec` (``v1.json.spacetimedb``) and `BsatnCodec` (``v1.bsatn.spacetimedb``) decode to
the same Python values."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from . import bsatn, bsatn_protocol, sats_json
from .algebraic import AlgebraicType, ProductType, describe
from .errors import ArgumentError, ProtocolError
from .lazy_row import LazyRow
from .protocol import (
    SUBPROTOCOL,
    ClientMessage,
    RawValue,
    ServerMessage,
    parse_server_message,
    serialize_client_message,
)
from .registry import TypeRegistry
from .schema import ModuleSchema, ReducerDef, TableDef
from .typed import TypeContext
from .values import Row


class Codec(Protocol):
    """Encodes what the client sends and decodes what the server sends, for one WebSocket
    subprotocol and one module schema."""

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol this codec speaks."""
        ...

    @property
    def url_parameters(self) -> Mapping[str, str]:
        """Query parameters the WebSocket URL needs for this format (none for JSON)."""
        ...

    def encode_message(self, message: ClientMessage) -> str | bytes:
        """A client message as one WebSocket frame."""
        ...

    def decode_message(self, frame: str | bytes) -> ServerMessage:
        """One WebSocket frame as a server message; ProtocolError when it is not one."""
        ...

    def encode_args(self, reducer: ReducerDef, args: Sequence[object]) -> RawValue:
        """Raises ArgumentError when ``args`` do not match the reducer's parameters."""
        ...

    def decode_args(self, reducer: ReducerDef, raw: RawValue) -> tuple[object, ...]:
        """A reducer's arguments as the server echoed them; ProtocolError on a mismatch."""
        ...

    def decode_row(self, table: TableDef, raw: RawValue) -> object:
        """One row of ``table``; ProtocolError when it does not fit the table's type."""
        ...

    def decode_columns(self, table: TableDef, raw: RawValue) -> tuple[object, ...]:
        """One row of ``table`` as its column values in the table's column order (its
        `TableDef.column_names`), no row object built (for a caller reading many rows that
        keeps a few columns of each); ProtocolError when it does not fit the table's type."""
        ...

    def lazy_row(self, table: TableDef, raw: RawValue) -> LazyRow:
        """One row of ``table``, its columns decoded when read (`LazyRow`)."""
        ...


CodecFactory = Callable[[ModuleSchema, TypeRegistry | None], Codec]
"""Builds a codec once the module schema is known (it is fetched again on every reconnect)."""


class JsonCodec:
    """The ``v1.json.spacetimedb`` format: SATS-JSON values, JSON text frames."""

    subprotocol = SUBPROTOCOL
    url_parameters: Mapping[str, str] = {}

    def __init__(self, schema: ModuleSchema, registry: TypeRegistry | None = None) -> None:
        self._context = TypeContext(schema.typespace, schema.type_names, registry)
        self._arg_encoders: dict[str, list[sats_json.Encoder]] = {}
        """Each reducer's argument encoders, built on its first call."""
        self._column_readers: dict[str, _JsonColumns] = {}
        """Each table's column reader, built on its first lazy row."""

    def encode_message(self, message: ClientMessage) -> str:
        """A client message as a JSON text frame."""
        return serialize_client_message(message)

    def decode_message(self, frame: str | bytes) -> ServerMessage:
        """A JSON text frame as a server message; ProtocolError when it is not one."""
        return parse_server_message(frame)

    def encode_args(self, reducer: ReducerDef, args: Sequence[object]) -> str:
        """The arguments as a SATS-JSON array; ArgumentError when their number or a value does not
        fit."""
        context = self._context
        encoders = _arg_encoders(
            reducer, args, self._arg_encoders, lambda ty, path: sats_json.encoder(ty, context, path)
        )
        encoded = [encode(arg) for encode, arg in zip(encoders, args, strict=True)]
        return sats_json.dumps(encoded)

    def decode_args(self, reducer: ReducerDef, raw: RawValue) -> tuple[object, ...]:
        """The echoed arguments as a tuple in parameter order; ProtocolError on a mismatch."""
        value = sats_json.decode(reducer.params, _load(raw), self._context, reducer.name)
        if isinstance(value, Row):
            return value.as_tuple()
        if isinstance(value, tuple):  # no parameters, or unnamed ones
            return value
        raise ProtocolError(f"arguments of {reducer.name!r} did not decode to a tuple: {value!r}")

    def decode_row(self, table: TableDef, raw: RawValue) -> object:
        """One row as a ``Row`` (or the class registered for the table's type)."""
        return sats_json.decode(table.type_ref, _load(raw), self._context, table.name)

    def decode_columns(self, table: TableDef, raw: RawValue) -> tuple[object, ...]:
        """One row as its column values in column order (see `Codec.decode_columns`)."""
        # Without a registry a row decodes to a Row alike through its ref (its decoder found by
        # the ref, not by hashing the whole row type) or directly; with one, directly (no class).
        context = self._context
        row_type = table.type_ref if context.registry is None else table.row_type
        row = sats_json.decode(row_type, _load(raw), context, table.name)
        if not isinstance(row, Row):  # a product with named columns decodes to a Row
            raise ProtocolError(f"a row of {table.name!r} did not decode to columns: {raw!r}")
        return row.as_tuple()

    def lazy_row(self, table: TableDef, raw: RawValue) -> LazyRow:
        """One row as a `LazyRow` (whatever class is registered for the table's type)."""
        reader = self._column_readers.get(table.name)
        if reader is None:  # not `_kept`: one call and one closure less per row
            reader = self._column_readers[table.name] = _JsonColumns(table, self._context)
        return LazyRow(raw, reader)


class _JsonColumns:
    """Reads the columns of one table's SATS-JSON rows (an array, or an object by name)."""

    def __init__(self, table: TableDef, context: TypeContext) -> None:
        elements = table.row_type.elements
        self.names = tuple(e.name or str(i) for i, e in enumerate(elements))
        self._table = table.name
        self._types = {name: e.type for name, e in zip(self.names, elements, strict=True)}
        self._positions = {name: i for i, name in enumerate(self.names)}
        self._context = context

    def load(self, raw: RawValue) -> sats_json.Json:
        loaded = _load(raw)
        fits = (
            len(loaded) == len(self.names)
            if isinstance(loaded, list)
            else isinstance(loaded, dict) and loaded.keys() == self._positions.keys()
        )
        if not fits:
            raise ProtocolError(f"a row of {self._table!r} does not have its columns: {raw!r}")
        return loaded

    def column(self, loaded: sats_json.Json, name: str) -> object:
        position = self._positions[name]
        wire = loaded[position] if isinstance(loaded, list) else loaded[name]
        return sats_json.decode(self._types[name], wire, self._context, f"{self._table}.{name}")


K = TypeVar("K")


def _kept(cache: dict[str, K], key: str, build: Callable[[], K]) -> K:
    """``cache[key]``, built (and kept) when missing."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = build()
    return found


def _arg_encoders(
    reducer: ReducerDef,
    args: Sequence[object],
    cache: dict[str, list[K]],
    make: Callable[[AlgebraicType, str], K],
) -> list[K]:
    """The reducer's argument encoders (``make(type, path)``, built on its first call and kept
    in ``cache``); ArgumentError when ``args`` are not as many as its parameters."""
    params = reducer.params.elements
    if len(args) != len(params):
        expected = ", ".join(f"{p.name}: {describe(p.type)}" for p in params)
        raise ArgumentError(
            f"reducer {reducer.name!r} takes {len(params)} argument(s) ({expected}), "
            f"got {len(args)}"
        )
    return _kept(
        cache, reducer.name, lambda: [make(p.type, f"{reducer.name}.{p.name}") for p in params]
    )


class BsatnCodec:
    """The ``v1.bsatn.spacetimedb`` format: BSATN values, binary frames; rows and reducer
    arguments travel as ``bytes``. The connection asks the server for uncompressed frames
    (``compression=None``, `url_parameters`). Decodes to the same values as `JsonCodec`, at a
    fraction of its CPU time per row."""

    subprotocol = bsatn_protocol.SUBPROTOCOL
    url_parameters: Mapping[str, str] = {"compression": "None"}

    def __init__(self, schema: ModuleSchema, registry: TypeRegistry | None = None) -> None:
        self._context = TypeContext(schema.typespace, schema.type_names, registry)
        self._arg_encoders: dict[str, list[bsatn.Encoder]] = {}
        """Each reducer's argument encoders, built on its first call."""
        self._row_decoders: dict[str, bsatn.Decoder] = {}
        """Each table's row decoder, looked up once."""
        self._columns_decoders: dict[str, bsatn.Decoder] = {}
        """Each table's columns decoder (`decode_columns`), looked up once."""
        self._column_readers: dict[str, _BsatnColumns] = {}
        """Each table's column reader, built on its first lazy row."""

    def encode_message(self, message: ClientMessage) -> bytes:
        """A client message as a binary frame."""
        return bsatn_protocol.serialize_client_message(message)

    def decode_message(self, frame: str | bytes) -> ServerMessage:
        """A binary frame as a server message; ProtocolError when it is not one."""
        return bsatn_protocol.parse_server_message(frame)

    def encode_args(self, reducer: ReducerDef, args: Sequence[object]) -> bytes:
        """The arguments as the BSATN of the reducer's parameter product; ArgumentError when
        their number or a value does not fit."""
        context = self._context
        encoders = _arg_encoders(
            reducer, args, self._arg_encoders, lambda ty, path: bsatn.encoder(ty, context, path)
        )
        out = bytearray()
        for encode, arg in zip(encoders, args, strict=True):
            encode(arg, out)
        return bytes(out)

    def decode_args(self, reducer: ReducerDef, raw: RawValue) -> tuple[object, ...]:
        """The echoed arguments as a tuple in parameter order; ProtocolError on a mismatch."""
        decoder = bsatn.fields_decoder(reducer.params, self._context)
        values: tuple[object, ...] = bsatn.run(decoder, _bytes(raw), reducer.name, reducer.params)
        return values

    def decode_row(self, table: TableDef, raw: RawValue) -> object:
        """One row as a ``Row`` (or the class registered for the table's type)."""
        decoder = self._row_decoders.get(table.name)
        if decoder is None:  # not `_kept`: one call less per row
            context = self._context
            # Without a registry the row type decodes alike through its ref or directly.
            row_type = table.type_ref if context.registry is not None else table.row_type
            decoder = self._row_decoders[table.name] = bsatn.compiled_decoder(row_type, context)
        return bsatn.run(decoder, _bytes(raw), table.name, table.row_type)

    def decode_columns(self, table: TableDef, raw: RawValue) -> tuple[object, ...]:
        """One row as its column values in column order (see `Codec.decode_columns`): the
        row type's generated fields decoder alone, without building a ``Row``."""
        decoder = self._columns_decoders.get(table.name)
        if decoder is None:
            decoder = bsatn.fields_decoder(table.row_type, self._context)
            self._columns_decoders[table.name] = decoder
        columns: tuple[object, ...] = bsatn.run(decoder, _bytes(raw), table.name, table.row_type)
        return columns

    def lazy_row(self, table: TableDef, raw: RawValue) -> LazyRow:
        """One row as a `LazyRow`: a read decodes its columns up to the one read."""
        reader = self._column_readers.get(table.name)
        if reader is None:  # not `_kept`: one call and one closure less per row
            reader = self._column_readers[table.name] = _BsatnColumns(table, self._context)
        return LazyRow(raw, reader)


class _BsatnColumns:
    """Reads the columns of one table's BSATN rows. A row's columns can only be found by
    reading the ones before them: a read decodes the columns up to the one asked for (a
    follower reading a row's leading key columns decodes only those), a later read the rest;
    only decoding the last column checks that no bytes follow it."""

    def __init__(self, table: TableDef, context: TypeContext) -> None:
        elements = table.row_type.elements
        self.names = tuple(e.name or str(i) for i, e in enumerate(elements))
        self._table = table
        self._context = context
        self._positions = {name: i for i, name in enumerate(self.names)}
        self._prefixes: list[bsatn.Decoder | None] = [None] * len(elements)
        """The decoder of the first ``k + 1`` columns at index ``k``, made when first needed."""

    def load(self, raw: RawValue) -> list[Any]:
        """``[the row's bytes, its columns decoded so far]`` (none yet)."""
        return [_bytes(raw), ()]

    def column(self, loaded: list[Any], name: str) -> object:
        position = self._positions[name]
        data, columns = loaded
        if position >= len(columns):
            row_type = self._table.row_type
            columns = loaded[1] = bsatn.run(
                self._prefix(position),
                data,
                self._table.name,
                row_type,
                prefix=position + 1 < len(row_type.elements),
            )
        return columns[position]

    def _prefix(self, position: int) -> bsatn.Decoder:
        decoder = self._prefixes[position]
        if decoder is None:
            row_type = self._table.row_type
            leading = ProductType(row_type.elements[: position + 1])
            ty = row_type if position + 1 == len(row_type.elements) else leading
            decoder = self._prefixes[position] = bsatn.fields_decoder(ty, self._context)
        return decoder


def _bytes(raw: RawValue) -> bytes:
    if not isinstance(raw, bytes):
        raise ProtocolError(f"a BSATN row or argument list must be bytes, got {type(raw).__name__}")
    return raw


def _load(raw: RawValue) -> sats_json.Json:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"a row or argument list is not JSON text: {error}") from None
