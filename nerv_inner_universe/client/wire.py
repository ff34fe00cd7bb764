"""What every connection to a database does the same way, whichever carries its frames (the
asyncio `DbConnection`, the calling thread's `BlockingConnection`): the subscribe URL, a
message's frame within the server's limit, a call whose answer could not arrive, request ids,
a call's arguments, the ``timeout`` left out, and a `TransactionUpdate` read as the
`ReducerEvent` of a call and its outcome."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator, Sequence
from urllib.parse import quote, urlencode

import structlog

from .codec import Codec
from .errors import (
    AnswerTooLargeError,
    ArgumentError,
    OutOfEnergyError,
    ReducerFailedError,
    SpacetimeError,
)
from .events import ReducerEvent, ReducerStatus
from .protocol import (
    ANSWER_ENVELOPE_BYTES,
    MAX_CLIENT_MESSAGE_BYTES,
    ClientMessage,
    Committed,
    Failed,
    RawValue,
    TransactionUpdate,
)
from .schema import ModuleSchema
from .values import ConnectionId

_MAX_UTF8_BYTES_PER_CHAR = 4


class Default(enum.Enum):
    """``timeout`` left out of a call: use the connection's ``call_timeout``."""

    TIMEOUT = enum.auto()


DEFAULT = Default.TIMEOUT


def call_args(schema: ModuleSchema, codec: Codec, reducer: str, args: Sequence[object]) -> RawValue:
    """``args`` encoded by ``codec`` for a call of ``reducer``. ArgumentError for a lifecycle
    reducer (the server calls those, clients cannot) and for arguments that do not fit;
    SchemaError for a reducer the module does not have."""
    definition = schema.reducer(reducer)
    if definition.lifecycle is not None:
        raise ArgumentError(
            f"{reducer!r} is a lifecycle reducer ({definition.lifecycle}): the server "
            "calls it, clients cannot"
        )
    return codec.encode_args(definition, args)


def subscribe_url(base_url: str, database: str, codec: Codec) -> str:
    """The WebSocket URL of ``database`` on the server at ``base_url`` (``http://host:port``),
    with the query parameters ``codec``'s format needs."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    url = f"{ws_scheme}://{rest}/v1/database/{quote(database, safe='')}/subscribe"
    return f"{url}?{urlencode(codec.url_parameters)}" if codec.url_parameters else url


def next_request_id(ids: Iterator[int]) -> int:
    """The next request or query id from the counter ``ids``: a u32, never 0 (0 is what the
    server puts on failure reports, and marks a handle not yet sent)."""
    while True:
        candidate = next(ids) & 0xFFFF_FFFF
        if candidate:
            return candidate


def frame_bytes(frame: str | bytes) -> int:
    """A frame's size on the wire, in bytes (a text frame's UTF-8)."""
    return len(frame.encode() if isinstance(frame, str) else frame)


def encode_checked(codec: Codec, message: ClientMessage) -> str | bytes:
    """``message`` as ``codec``'s frame; ArgumentError (nothing sent) when it is over the
    server's `MAX_CLIENT_MESSAGE_BYTES`, which would close the connection."""
    frame = codec.encode_message(message)
    if len(frame) * _MAX_UTF8_BYTES_PER_CHAR <= MAX_CLIENT_MESSAGE_BYTES:
        return frame  # fits whatever its characters: no need to encode it to measure it
    size = frame_bytes(frame)
    if size > MAX_CLIENT_MESSAGE_BYTES:
        raise ArgumentError(
            f"the message is {size} bytes; the server accepts at most "
            f"{MAX_CLIENT_MESSAGE_BYTES} (and would close the connection); nothing was sent"
        )
    return frame


def refuse_unanswerable(reducer: str, frame: str | bytes, limit: int | None) -> None:
    """AnswerTooLargeError when the answer to the call in ``frame`` could not fit a
    connection's ``max_message_bytes`` (``limit``; None: no limit): it echoes the arguments as
    they travel in the call (JSON text inside a JSON string in the JSON protocol, BSATN bytes
    in the binary one), so the call's frame plus `ANSWER_ENVELOPE_BYTES` must fit."""
    if limit is None or len(frame) * _MAX_UTF8_BYTES_PER_CHAR + ANSWER_ENVELOPE_BYTES <= limit:
        return  # fits whatever its characters: no need to encode it to measure it
    size = frame_bytes(frame)
    if size + ANSWER_ENVELOPE_BYTES > limit:
        raise AnswerTooLargeError(reducer, size, limit)


def reducer_event(schema: ModuleSchema, codec: Codec, message: TransactionUpdate) -> ReducerEvent:
    """The reducer call ``message`` reports, its arguments decoded on first use."""
    call = message.reducer_call
    match message.status:
        case Committed():
            status, text = ReducerStatus.COMMITTED, None
        case Failed():
            status, text = ReducerStatus.FAILED, message.status.message
        case _:
            status, text = ReducerStatus.OUT_OF_ENERGY, None
    definition = schema.reducers.get(call.reducer_name)
    raw = call.args

    def decode_args() -> tuple[object, ...] | None:
        if definition is None:
            return None
        try:
            return codec.decode_args(definition, raw)
        except SpacetimeError:
            return None  # e.g. a failure report carrying "[]" for arguments it refused

    caller = message.caller_connection_id
    return ReducerEvent(
        reducer_name=call.reducer_name,
        reducer_id=call.reducer_id,
        caller_identity=message.caller_identity,
        caller_connection_id=None if caller == ConnectionId.ZERO else caller,
        request_id=call.request_id,
        status=status,
        message=text,
        timestamp=message.timestamp,
        energy_quanta_used=message.energy_quanta_used,
        duration=message.total_host_execution_duration,
        decode_args=decode_args,
    )


def outcome_error(
    reducer: str, event: ReducerEvent, log: structlog.stdlib.BoundLogger
) -> SpacetimeError | None:
    """What a call of ``reducer`` that ended as ``event`` raises: None when it committed,
    ReducerFailedError when it was rolled back, OutOfEnergyError when its energy ran out.
    Logged to ``log`` at debug level (``reducer_outcome``)."""
    if log.isEnabledFor(logging.DEBUG):  # skips building a dropped entry per call
        log.debug(
            "reducer_outcome",
            reducer=event.reducer_name,
            request_id=event.request_id,
            status=event.status.value,
            duration_us=event.duration.micros,
        )
    if event.status is ReducerStatus.COMMITTED:
        return None
    if event.status is ReducerStatus.FAILED:
        return ReducerFailedError(reducer, event.message or "")
    return OutOfEnergyError(reducer)
