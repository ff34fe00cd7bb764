"""WebSocket messages of the SpacetimeDB 1.x protocol and their ``v1.json.spacetimedb`` form.

The models hold rows and reducer arguments still encoded (``RawValue``: JSON text here,
BSATN bytes in the binary protocol); the ``Codec`` decodes them with the module schema. The
trap of the JSON protocol (verified against 1.2.0): ``CallReducer.args``, ``reducer_call.args``
and every row are JSON *text inside a JSON string*, not nested JSON.

The server answers a reducer that returned an error, or whose arguments it could not decode,
with ``request_id`` 0 rather than the caller's id; see ``calls.PendingCalls``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from . import sats_json
from .algebraic import (
    CONNECTION_ID,
    IDENTITY,
    TIME_DURATION,
    TIMESTAMP,
    AlgebraicType,
    Primitive,
    option,
)
from .errors import ArgumentError, ProtocolError
from .typed import TypeContext
from .values import ConnectionId, Identity, TimeDuration, Timestamp

SUBPROTOCOL = "v1.json.spacetimedb"
MAX_CLIENT_MESSAGE_BYTES = 0x2000000
"""The server closes the connection on a message larger than 32 MiB."""

ANSWER_ENVELOPE_BYTES = 1024
"""What the server's answer to a reducer call (``TransactionUpdate``) takes besides the echoed
arguments and any rows, in bytes, at most: its status, the caller's identity and connection id,
the reducer's name and ids, a timestamp, the energy and duration, and their JSON field names.
A call whose frame plus this is over the connection's ``max_message_bytes`` is refused before
it is sent (`AnswerTooLargeError`): its answer could never arrive."""

RawValue = str | bytes
"""A row or an argument list, still in the wire encoding."""

# --- client -> server -------------------------------------------------------------------


@attrs.frozen
class CallReducer:
    """Calls ``reducer`` with ``args`` (encoded by the codec); the outcome comes back with
    ``request_id``."""

    reducer: str
    args: RawValue
    request_id: int
    flags: int = 0
    """0: the caller always hears of the outcome. 1 ("no success notify") also suppresses the
    report of a *failure* in 1.2.0, so this client never sends it."""


@attrs.frozen
class SubscribeMulti:
    """Subscribes to several queries as one set, known to the server as ``query_id``."""

    query_strings: tuple[str, ...]
    request_id: int
    query_id: int


@attrs.frozen
class UnsubscribeMulti:
    """Ends the subscription set ``query_id``."""

    request_id: int
    query_id: int


@attrs.frozen
class OneOffQuery:
    """Runs one SQL query without subscribing; the answer carries ``message_id``."""

    message_id: bytes
    query_string: str


ClientMessage = CallReducer | SubscribeMulti | UnsubscribeMulti | OneOffQuery

# --- server -> client -------------------------------------------------------------------


@attrs.frozen
class TableUpdate:
    """One table's rows in an update; the per-query lists of the wire are concatenated, so a
    row matched by two overlapping queries appears twice (the cache counts references)."""

    table_id: int
    table_name: str
    deletes: tuple[RawValue, ...]
    inserts: tuple[RawValue, ...]


@attrs.frozen
class DatabaseUpdate:
    """The rows one message changes, per table."""

    tables: tuple[TableUpdate, ...]


@attrs.frozen
class IdentityToken:
    """The first message of a connection: who the client is and its connection id."""

    identity: Identity
    token: str = attrs.field(repr=False)  # a secret: never in repr() or logs
    connection_id: ConnectionId


@attrs.frozen
class Committed:
    """The reducer committed; ``update`` holds the subscribed rows it changed."""

    update: DatabaseUpdate


@attrs.frozen
class Failed:
    """The reducer returned an error (``message``) or panicked; nothing changed."""

    message: str


@attrs.frozen
class OutOfEnergy:
    """The reducer ran out of energy; nothing changed."""

    pass


UpdateStatus = Committed | Failed | OutOfEnergy


@attrs.frozen
class ReducerCallInfo:
    """Which reducer ran, with which arguments, for which request."""

    reducer_name: str
    reducer_id: int
    args: RawValue
    request_id: int


@attrs.frozen
class TransactionUpdate:
    """The outcome of a reducer call: its status, time, caller, cost and changed rows."""

    status: UpdateStatus
    timestamp: Timestamp
    caller_identity: Identity
    caller_connection_id: ConnectionId
    reducer_call: ReducerCallInfo
    energy_quanta_used: int
    total_host_execution_duration: TimeDuration


@attrs.frozen
class SubscribeMultiApplied:
    """A subscription set is active; ``update`` holds its initial rows."""

    request_id: int
    total_host_execution_duration_micros: int
    query_id: int
    update: DatabaseUpdate


@attrs.frozen
class UnsubscribeMultiApplied:
    """A subscription set ended; ``update`` holds the rows leaving the cache."""

    request_id: int
    total_host_execution_duration_micros: int
    query_id: int
    update: DatabaseUpdate


@attrs.frozen
class SubscriptionError:
    """A subscription failed. Without ``request_id`` the server dropped *all* of the
    connection's subscriptions."""

    total_host_execution_duration_micros: int
    request_id: int | None
    query_id: int | None
    table_id: int | None
    error: str


@attrs.frozen
class OneOffTable:
    """One table's rows in the answer to a one-off query."""

    table_name: str
    rows: tuple[RawValue, ...]


@attrs.frozen
class OneOffQueryResponse:
    """The answer to a one-off query: its rows, or the server's ``error``."""

    message_id: bytes
    error: str | None
    tables: tuple[OneOffTable, ...]
    total_host_execution_duration: TimeDuration


@attrs.frozen
class UnknownMessage:
    """A message kind this client does not know (a newer server); logged and skipped."""

    kind: str


ServerMessage = (
    IdentityToken
    | TransactionUpdate
    | SubscribeMultiApplied
    | UnsubscribeMultiApplied
    | SubscriptionError
    | OneOffQueryResponse
    | UnknownMessage
)

# --- JSON form --------------------------------------------------------------------------


def serialize_client_message(message: ClientMessage) -> str:
    """``message`` as the JSON text the ``v1.json.spacetimedb`` protocol expects."""
    body: dict[str, Any]
    match message:
        case CallReducer():
            body = {
                "CallReducer": {
                    "reducer": message.reducer,
                    "args": _text(message.args),
                    "request_id": message.request_id,
                    "flags": message.flags,
                }
            }
        case SubscribeMulti():
            body = {
                "SubscribeMulti": {
                    "query_strings": list(message.query_strings),
                    "request_id": message.request_id,
                    "query_id": {"id": message.query_id},
                }
            }
        case UnsubscribeMulti():
            body = {
                "UnsubscribeMulti": {
                    "request_id": message.request_id,
                    "query_id": {"id": message.query_id},
                }
            }
        case OneOffQuery():
            body = {
                "OneOffQuery": {
                    "message_id": message.message_id.hex(),
                    "query_string": message.query_string,
                }
            }
    return sats_json.dumps(body)


def _text(value: RawValue) -> str:
    if not isinstance(value, str):
        raise ArgumentError("the JSON protocol carries reducer arguments as JSON text, not bytes")
    return value


def parse_server_message(text: str | bytes) -> ServerMessage:
    """Parses one text frame; raises ProtocolError when it is not a message of this protocol."""
    try:
        envelope = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"the server sent a frame that is not JSON: {error}") from None
    if not isinstance(envelope, Mapping) or len(envelope) != 1:
        raise ProtocolError(f"expected a one-key message object, got {str(envelope)[:200]}")
    ((kind, body),) = envelope.items()
    parser = _PARSERS.get(kind)
    if parser is None:
        return UnknownMessage(kind)
    return parser(_Obj(body, kind))


class _Obj:
    """A JSON object being read; its path for error messages (``path``) is only spelled out
    when an error needs it: ``parent``'s path (or ``parent`` itself, the message kind), then
    ``.key`` and ``[index]`` when given."""

    __slots__ = ("_index", "_key", "_parent", "value")

    def __init__(
        self, value: Any, parent: _Obj | str, key: str | None = None, index: int | None = None
    ) -> None:
        self._parent, self._key, self._index = parent, key, index
        if type(value) is not dict and not isinstance(value, Mapping):
            raise ProtocolError(f"{self.path}: expected an object, got {type(value).__name__}")
        self.value: Mapping[str, Any] = value

    @property
    def path(self) -> str:
        path = self._parent if isinstance(self._parent, str) else self._parent.path
        if self._key is not None:
            path = f"{path}.{self._key}"
        return path if self._index is None else f"{path}[{self._index}]"

    def raw(self, key: str) -> Any:
        try:
            return self.value[key]
        except KeyError:
            raise ProtocolError(f"{self.path}: missing {key!r}") from None

    def obj(self, key: str) -> _Obj:
        return _Obj(self.raw(key), self, key)

    def typed(self, key: str, ty: AlgebraicType) -> Any:
        wire = self.raw(key)
        decoder = _DECODERS.get(id(ty))
        if decoder is None:
            decoder = _DECODERS[id(ty)] = sats_json.compiled_decoder(ty, _CONTEXT)
        try:
            return decoder(wire)
        except Exception:  # decoded again, to word the error with its path
            return sats_json.decode(ty, wire, _CONTEXT, f"{self.path}.{key}")

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ProtocolError(f"{self.path}.{key}: expected an integer, got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise ProtocolError(f"{self.path}.{key}: expected a string, got {value!r}")
        return value

    def rows(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(row, str) for row in value):
            raise ProtocolError(f"{self.path}.{key}: expected a list of JSON texts")
        return tuple(value)

    def items(self, key: str) -> list[_Obj]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise ProtocolError(f"{self.path}.{key}: expected a list, got {type(value).__name__}")
        return [_Obj(item, self, key, i) for i, item in enumerate(value)]


_CONTEXT = TypeContext()
_DECODERS: dict[int, sats_json.Decoder] = {}
"""The compiled decoders of the type constants `_Obj.typed` reads, by identity (looking one
up by the type's value hashes the whole type)."""
_OPTIONAL_U32 = option(Primitive.U32)
_OPTIONAL_STRING = option(Primitive.STRING)


def _database_update(obj: _Obj) -> DatabaseUpdate:
    tables = []
    for table in obj.items("tables"):
        deletes: list[str] = []
        inserts: list[str] = []
        for query_update in table.items("updates"):
            deletes.extend(query_update.rows("deletes"))
            inserts.extend(query_update.rows("inserts"))
        tables.append(
            TableUpdate(
                table.integer("table_id"), table.text("table_name"), tuple(deletes), tuple(inserts)
            )
        )
    return DatabaseUpdate(tuple(tables))


def _identity_token(obj: _Obj) -> IdentityToken:
    return IdentityToken(
        obj.typed("identity", IDENTITY),
        obj.text("token"),
        obj.typed("connection_id", CONNECTION_ID),
    )


def _transaction_update(obj: _Obj) -> TransactionUpdate:
    status_obj = obj.obj("status")
    if len(status_obj.value) != 1:
        raise ProtocolError(f"{status_obj.path}: expected one status, got {list(status_obj.value)}")
    status: UpdateStatus
    if "Committed" in status_obj.value:
        status = Committed(_database_update(status_obj.obj("Committed")))
    elif "Failed" in status_obj.value:
        status = Failed(status_obj.text("Failed"))
    elif "OutOfEnergy" in status_obj.value:
        status = OutOfEnergy()
    else:
        raise ProtocolError(f"{status_obj.path}: unknown status {list(status_obj.value)}")
    call = obj.obj("reducer_call")
    return TransactionUpdate(
        status=status,
        timestamp=obj.typed("timestamp", TIMESTAMP),
        caller_identity=obj.typed("caller_identity", IDENTITY),
        caller_connection_id=obj.typed("caller_connection_id", CONNECTION_ID),
        reducer_call=ReducerCallInfo(
            call.text("reducer_name"),
            call.integer("reducer_id"),
            call.text("args"),
            call.integer("request_id"),
        ),
        energy_quanta_used=obj.obj("energy_quanta_used").integer("quanta"),
        total_host_execution_duration=obj.typed("total_host_execution_duration", TIME_DURATION),
    )


def _subscribe_multi_applied(obj: _Obj) -> SubscribeMultiApplied:
    return SubscribeMultiApplied(
        obj.integer("request_id"),
        obj.integer("total_host_execution_duration_micros"),
        obj.obj("query_id").integer("id"),
        _database_update(obj.obj("update")),
    )


def _unsubscribe_multi_applied(obj: _Obj) -> UnsubscribeMultiApplied:
    return UnsubscribeMultiApplied(
        obj.integer("request_id"),
        obj.integer("total_host_execution_duration_micros"),
        obj.obj("query_id").integer("id"),
        _database_update(obj.obj("update")),
    )


def _subscription_error(obj: _Obj) -> SubscriptionError:
    return SubscriptionError(
        obj.integer("total_host_execution_duration_micros"),
        obj.typed("request_id", _OPTIONAL_U32),
        obj.typed("query_id", _OPTIONAL_U32),
        obj.typed("table_id", _OPTIONAL_U32),
        obj.text("error"),
    )


def _one_off_query_response(obj: _Obj) -> OneOffQueryResponse:
    try:
        message_id = bytes.fromhex(obj.text("message_id"))
    except ValueError:
        raise ProtocolError(f"{obj.path}.message_id: not hex") from None
    return OneOffQueryResponse(
        message_id,
        obj.typed("error", _OPTIONAL_STRING),
        tuple(OneOffTable(t.text("table_name"), t.rows("rows")) for t in obj.items("tables")),
        obj.typed("total_host_execution_duration", TIME_DURATION),
    )


_PARSERS: dict[str, Callable[[_Obj], ServerMessage]] = {
    "IdentityToken": _identity_token,
    "TransactionUpdate": _transaction_update,
    "SubscribeMultiApplied": _subscribe_multi_applied,
    "UnsubscribeMultiApplied": _unsubscribe_multi_applied,
    "SubscriptionError": _subscription_error,
    "OneOffQueryResponse": _one_off_query_response,
}
