"""The wire format behind one interface, so a BSATN codec can replace JSON without touching
the connection or its callers."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol

from . import sats_json
from .algebraic import describe
from .errors import ArgumentError, ProtocolError
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
from .values import Row


class Codec(Protocol):
    """Encodes what the client sends and decodes what the server sends, for one WebSocket
    subprotocol and one module schema."""

    @property
    def subprotocol(self) -> str: ...

    def encode_message(self, message: ClientMessage) -> str | bytes: ...

    def decode_message(self, frame: str | bytes) -> ServerMessage: ...

    def encode_args(self, reducer: ReducerDef, args: Sequence[object]) -> RawValue:
        """Raises ArgumentError when ``args`` do not match the reducer's parameters."""
        ...

    def decode_args(self, reducer: ReducerDef, raw: RawValue) -> tuple[object, ...]: ...

    def decode_row(self, table: TableDef, raw: RawValue) -> object: ...


CodecFactory = Callable[[ModuleSchema, TypeRegistry | None], Codec]
"""Builds a codec once the module schema is known (it is fetched again on every reconnect)."""


class JsonCodec:
    """The ``v1.json.spacetimedb`` format: SATS-JSON values, JSON text frames."""

    subprotocol = SUBPROTOCOL

    def __init__(self, schema: ModuleSchema, registry: TypeRegistry | None = None) -> None:
        self._context = sats_json.TypeContext(schema.typespace, schema.type_names, registry)

    def encode_message(self, message: ClientMessage) -> str:
        return serialize_client_message(message)

    def decode_message(self, frame: str | bytes) -> ServerMessage:
        return parse_server_message(frame)

    def encode_args(self, reducer: ReducerDef, args: Sequence[object]) -> str:
        params = reducer.params.elements
        if len(args) != len(params):
            expected = ", ".join(f"{p.name}: {describe(p.type)}" for p in params)
            raise ArgumentError(
                f"reducer {reducer.name!r} takes {len(params)} argument(s) ({expected}), "
                f"got {len(args)}"
            )
        encoded = [
            sats_json.encode(param.type, arg, self._context, f"{reducer.name}.{param.name}")
            for param, arg in zip(params, args, strict=True)
        ]
        return json.dumps(encoded, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def decode_args(self, reducer: ReducerDef, raw: RawValue) -> tuple[object, ...]:
        value = sats_json.decode(reducer.params, _load(raw), self._context, reducer.name)
        if isinstance(value, Row):
            return value.as_tuple()
        if isinstance(value, tuple):  # no parameters, or unnamed ones
            return value
        raise ProtocolError(f"arguments of {reducer.name!r} did not decode to a tuple: {value!r}")

    def decode_row(self, table: TableDef, raw: RawValue) -> object:
        return sats_json.decode(table.type_ref, _load(raw), self._context, table.name)


def _load(raw: RawValue) -> sats_json.Json:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"a row or argument list is not JSON text: {error}") from None
