"""The ``v1.bsatn.spacetimedb`` form of the messages of `protocol` (binary frames).

Layouts verified against ``spacetimedb-client-api-messages`` 1.2.0 (``websocket.rs``), every
message a BSATN value (see `bsatn`):

- client: ``ClientMessage<Bytes>``, a sum: CallReducer 0 ``{reducer: String, args: bytes,
  request_id: u32, flags: u8}``, OneOffQuery 2 ``{message_id: bytes, query_string: String}``,
  SubscribeMulti 4 ``{query_strings: Array<String>, request_id: u32, query_id: u32}``,
  UnsubscribeMulti 6 ``{request_id: u32, query_id: u32}`` (Subscribe 1, SubscribeSingle 3 and
  Unsubscribe 5 are not used by this client);
- server: a compression byte (0 none, 1 brotli, 2 gzip; ``spacetimedb-core`` 1.2.0
  ``client/messages.rs``), then ``ServerMessage<BsatnFormat>``, a sum: InitialSubscription 0,
  TransactionUpdate 1, TransactionUpdateLight 2, IdentityToken 3, OneOffQueryResponse 4,
  SubscribeApplied 5, UnsubscribeApplied 6, SubscriptionError 7, SubscribeMultiApplied 8,
  UnsubscribeMultiApplied 9. The kinds this client does not use (0, 2, 5, 6) and tags past 9
  become `UnknownMessage`, as in the JSON form.

Rows travel in ``BsatnRowList {size_hint: FixedSize(u16) | RowOffsets(Array<u64>), rows_data:
bytes}``; each row is handed on as its own ``bytes`` (`RawValue`), decoded later by the codec.
A table's update is an array of ``CompressableQueryUpdate``: Uncompressed 0 ``{deletes,
inserts}``, Brotli 1 (bytes), Gzip 2 (bytes).

Compression: `DbConnection` connects with ``compression=None``, so the server sends every frame
and every query update uncompressed (1.2.0 compresses only when asked). A compressed frame or
update (brotli or gzip) raises ProtocolError: the client asked for none, and inflating what a
server sends would let a small frame grow far past ``max_message_bytes``.

As in the JSON form, the server reports a failed reducer with ``request_id`` 0.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Any, NoReturn

from . import bsatn
from .algebraic import (
    CONNECTION_ID,
    IDENTITY,
    TIME_DURATION,
    TIMESTAMP,
    Primitive,
    option,
)
from .errors import ArgumentError, ProtocolError
from .protocol import (
    CallReducer,
    ClientMessage,
    Committed,
    DatabaseUpdate,
    Failed,
    IdentityToken,
    OneOffQuery,
    OneOffQueryResponse,
    OneOffTable,
    OutOfEnergy,
    RawValue,
    ReducerCallInfo,
    ServerMessage,
    SubscribeMulti,
    SubscribeMultiApplied,
    SubscriptionError,
    TableUpdate,
    TransactionUpdate,
    UnknownMessage,
    UnsubscribeMulti,
    UnsubscribeMultiApplied,
    UpdateStatus,
)
from .typed import TypeContext

SUBPROTOCOL = "v1.bsatn.spacetimedb"
_NONE = 0
_COMPRESSIONS = {1: "brotli", 2: "gzip"}
"""The compression tags of 1.2.0 other than none, by name."""
"""Compression tags of a server frame (and of a ``CompressableQueryUpdate``'s variants)."""

_CONTEXT = TypeContext()
_string = bsatn.encoder(Primitive.STRING, _CONTEXT, "a reducer name or query")
_pack_u32 = bsatn.U32.pack
_u32 = bsatn.compiled_decoder(Primitive.U32, _CONTEXT)
_u64 = bsatn.compiled_decoder(Primitive.U64, _CONTEXT)
_u128 = bsatn.compiled_decoder(Primitive.U128, _CONTEXT)
_identity = bsatn.compiled_decoder(IDENTITY, _CONTEXT)
_connection_id = bsatn.compiled_decoder(CONNECTION_ID, _CONTEXT)
_timestamp = bsatn.compiled_decoder(TIMESTAMP, _CONTEXT)
_time_duration = bsatn.compiled_decoder(TIME_DURATION, _CONTEXT)
_optional_u32 = bsatn.compiled_decoder(option(Primitive.U32), _CONTEXT)
_optional_string = bsatn.compiled_decoder(option(Primitive.STRING), _CONTEXT)
_read_string = bsatn.decode_string
_read_bytes = bsatn.decode_bytes

# --- client -> server -------------------------------------------------------------------


def serialize_client_message(message: ClientMessage) -> bytes:
    """``message`` as the binary frame the ``v1.bsatn.spacetimedb`` protocol expects;
    ArgumentError when its reducer arguments are not BSATN bytes."""
    out = bytearray()
    match message:
        case CallReducer():
            if not isinstance(message.args, bytes):
                raise ArgumentError(
                    "the BSATN protocol carries reducer arguments as bytes, not JSON text"
                )
            out.append(0)
            _string(message.reducer, out)
            out += _pack_u32(len(message.args))
            out += message.args
            out += _pack_u32(message.request_id)
            out.append(message.flags)
        case OneOffQuery():
            out.append(2)
            out += _pack_u32(len(message.message_id))
            out += message.message_id
            _string(message.query_string, out)
        case SubscribeMulti():
            out.append(4)
            out += _pack_u32(len(message.query_strings))
            for query in message.query_strings:
                _string(query, out)
            out += _pack_u32(message.request_id)
            out += _pack_u32(message.query_id)
        case UnsubscribeMulti():
            out.append(6)
            out += _pack_u32(message.request_id)
            out += _pack_u32(message.query_id)
    return bytes(out)


# --- server -> client -------------------------------------------------------------------


def parse_server_message(frame: str | bytes) -> ServerMessage:
    """Parses one binary frame; raises ProtocolError when it is not a message of this
    protocol."""
    if not isinstance(frame, bytes) or not frame:
        raise ProtocolError(
            f"the BSATN protocol sends non-empty binary frames, got {type(frame).__name__}"
            f" of length {len(frame)}"
        )
    if frame[0] != _NONE:
        _refuse_compressed(frame[0], "a server frame")
    body = frame[1:]
    kind = body[0] if body else None
    parser = _PARSERS.get(kind) if kind is not None else None
    if parser is None:
        if kind is None:
            raise ProtocolError("a server frame holds no message")
        return UnknownMessage(_UNUSED_KINDS.get(kind, f"tag {kind}"))
    message: ServerMessage = bsatn.run(parser, body, f"a server message (tag {kind})")
    return message


def _refuse_compressed(tag: int, what: str) -> NoReturn:
    """Raises the ProtocolError for ``what`` sent with compression ``tag`` (not none)."""
    compression = _COMPRESSIONS.get(tag)
    if compression is None:
        raise ProtocolError(f"{what} has an unknown compression tag {tag}")
    raise ProtocolError(
        f"{what} is {compression}-compressed, which this client does not read: it connects "
        "with compression=None"
    )


def _row_list(buf: bytes, pos: int) -> tuple[list[bytes], int]:
    """A ``BsatnRowList``: each row's bytes."""
    hint = buf[pos]
    if hint == 0:
        size = bsatn.U16.unpack_from(buf, pos + 1)[0]
        data, pos = _read_bytes(buf, pos + 3)
        if (len(data) % size if size else len(data)) != 0:
            raise bsatn.Malformed(f"{len(data)} bytes of rows are not rows of {size} bytes")
        if not size:
            return [], pos
        return [data[start : start + size] for start in range(0, len(data), size)], pos
    if hint != 1:
        raise bsatn.Malformed(f"byte {pos}: {hint} is not a row size hint")
    count = bsatn.U32.unpack_from(buf, pos + 1)[0]
    start = pos + 5
    end = start + 8 * count
    if end > len(buf):
        raise bsatn.truncated(f"{count} row offsets", end, buf)
    offsets = struct.unpack_from(f"<{count}Q", buf, start)
    data, pos = _read_bytes(buf, end)
    bounds = (*offsets, len(data))
    if count and (offsets[0] != 0 or any(a > b for a, b in itertools.pairwise(bounds))):
        raise bsatn.Malformed(f"row offsets {offsets[:8]}... do not split {len(data)} bytes")
    return [data[bounds[i] : bounds[i + 1]] for i in range(count)], pos


def _query_update(buf: bytes, pos: int) -> tuple[tuple[list[bytes], list[bytes]], int]:
    """A ``QueryUpdate``: its deleted and inserted rows."""
    deletes, pos = _row_list(buf, pos)
    inserts, pos = _row_list(buf, pos)
    return (deletes, inserts), pos


def _compressable_query_update(buf: bytes, pos: int) -> tuple[tuple[list[bytes], list[bytes]], int]:
    if buf[pos] != _NONE:
        _refuse_compressed(buf[pos], "a query update")
    return _query_update(buf, pos + 1)


def _database_update(buf: bytes, pos: int) -> tuple[DatabaseUpdate, int]:
    tables = []
    count, pos = _u32(buf, pos)
    for _ in range(count):
        table_id, pos = _u32(buf, pos)
        table_name, pos = _read_string(buf, pos)
        _, pos = _u64(buf, pos)  # num_rows: the lists give it
        updates, pos = _u32(buf, pos)
        deletes: list[RawValue] = []
        inserts: list[RawValue] = []
        for _ in range(updates):
            (deleted, inserted), pos = _compressable_query_update(buf, pos)
            deletes += deleted
            inserts += inserted
        tables.append(TableUpdate(table_id, table_name, tuple(deletes), tuple(inserts)))
    return DatabaseUpdate(tuple(tables)), pos


def _identity_token(buf: bytes, pos: int) -> tuple[IdentityToken, int]:
    identity, pos = _identity(buf, pos)
    token, pos = _read_string(buf, pos)
    connection_id, pos = _connection_id(buf, pos)
    return IdentityToken(identity, token, connection_id), pos


def _transaction_update(buf: bytes, pos: int) -> tuple[TransactionUpdate, int]:
    tag = buf[pos]
    pos += 1
    status: UpdateStatus
    if tag == 0:
        update, pos = _database_update(buf, pos)
        status = Committed(update)
    elif tag == 1:
        message, pos = _read_string(buf, pos)
        status = Failed(message)
    elif tag == 2:
        status = OutOfEnergy()
    else:
        raise bsatn.Malformed(f"byte {pos - 1}: {tag} is not an update status")
    timestamp, pos = _timestamp(buf, pos)
    caller_identity, pos = _identity(buf, pos)
    caller_connection_id, pos = _connection_id(buf, pos)
    reducer_name, pos = _read_string(buf, pos)
    reducer_id, pos = _u32(buf, pos)
    args, pos = _read_bytes(buf, pos)
    request_id, pos = _u32(buf, pos)
    energy, pos = _u128(buf, pos)
    duration, pos = _time_duration(buf, pos)
    return TransactionUpdate(
        status=status,
        timestamp=timestamp,
        caller_identity=caller_identity,
        caller_connection_id=caller_connection_id,
        reducer_call=ReducerCallInfo(reducer_name, reducer_id, args, request_id),
        energy_quanta_used=energy,
        total_host_execution_duration=duration,
    ), pos


def _multi_applied(
    make: type[SubscribeMultiApplied] | type[UnsubscribeMultiApplied],
) -> Callable[[bytes, int], tuple[Any, int]]:
    def parse(buf: bytes, pos: int) -> tuple[Any, int]:
        request_id, pos = _u32(buf, pos)
        duration, pos = _u64(buf, pos)
        query_id, pos = _u32(buf, pos)
        update, pos = _database_update(buf, pos)
        return make(request_id, duration, query_id, update), pos

    return parse


def _subscription_error(buf: bytes, pos: int) -> tuple[SubscriptionError, int]:
    duration, pos = _u64(buf, pos)
    request_id, pos = _optional_u32(buf, pos)
    query_id, pos = _optional_u32(buf, pos)
    table_id, pos = _optional_u32(buf, pos)
    error, pos = _read_string(buf, pos)
    return SubscriptionError(duration, request_id, query_id, table_id, error), pos


def _one_off_query_response(buf: bytes, pos: int) -> tuple[OneOffQueryResponse, int]:
    message_id, pos = _read_bytes(buf, pos)
    error, pos = _optional_string(buf, pos)
    count, pos = _u32(buf, pos)
    tables = []
    for _ in range(count):
        table_name, pos = _read_string(buf, pos)
        rows, pos = _row_list(buf, pos)
        tables.append(OneOffTable(table_name, tuple(rows)))
    duration, pos = _time_duration(buf, pos)
    return OneOffQueryResponse(message_id, error, tuple(tables), duration), pos


def _skipping_tag(
    parse: Callable[[bytes, int], tuple[Any, int]],
) -> Callable[[bytes, int], tuple[Any, int]]:
    return lambda buf, pos: parse(buf, pos + 1)


_PARSERS: dict[int, Callable[[bytes, int], tuple[Any, int]]] = {
    tag: _skipping_tag(parse)
    for tag, parse in {
        1: _transaction_update,
        3: _identity_token,
        4: _one_off_query_response,
        7: _subscription_error,
        8: _multi_applied(SubscribeMultiApplied),
        9: _multi_applied(UnsubscribeMultiApplied),
    }.items()
}
"""The parsers of the messages this client reads, by tag (each skips the tag byte)."""
_UNUSED_KINDS = {
    0: "InitialSubscription",
    2: "TransactionUpdateLight",
    5: "SubscribeApplied",
    6: "UnsubscribeApplied",
}
"""The messages of 1.2.0 this client never asks for, by tag."""
