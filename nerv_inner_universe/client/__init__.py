"""A SpacetimeDB 1.x client: the HTTP API, module schemas, SATS-JSON and BSATN values, and a
WebSocket connection with subscriptions, a client cache and automatic reconnection.

>>> async with DbConnection("http://127.0.0.1:3000", "my-db", token=token) as conn:
...     await conn.subscribe(["SELECT * FROM entity"])
...     conn.cache.table("entity").on_insert(lambda ctx, row: print(row.id))
...     await conn.call_reducer("create_entity", "e1", "Person", metadata)

Knows nothing of the application using it.
"""

from __future__ import annotations

from .algebraic import AlgebraicType, ArrayType, Primitive, ProductType, Ref, SumType, Typespace
from .blocking import BlockingConnection, Stream, StreamFactory, open_stream
from .cache import ClientCache, TableCache, TableDiff
from .callbacks import CallbackId
from .codec import BsatnCodec, Codec, CodecFactory, JsonCodec
from .connection import DbConnection, QueryResult
from .errors import (
    AnswerTooLargeError,
    ArgumentError,
    CallTimeoutError,
    ConnectionRefusedByModuleError,
    HttpError,
    MessageTooLargeError,
    NotFoundError,
    OutcomeUnknownError,
    OutOfEnergyError,
    ProtocolError,
    QueryError,
    ReducerFailedError,
    RequestTooLargeError,
    SchemaError,
    SpacetimeConnectionError,
    SpacetimeError,
    TokenStoreError,
)
from .events import EventContext, EventKind, ReducerEvent, ReducerStatus
from .http import (
    MAX_HTTP_BODY_BYTES,
    Credentials,
    DatabaseInfo,
    HttpCallResult,
    LogRecord,
    PublishResult,
    SpacetimeHttp,
    SqlResult,
)
from .lazy_row import LazyRow
from .reconnect import ReconnectPolicy
from .registry import TypeRegistry
from .schema import IndexDef, ModuleSchema, ReducerDef, TableDef
from .subscription import SubscriptionHandle, SubscriptionState
from .token_store import TokenStore, default_token_dir, read_token_file
from .values import (
    ConnectionId,
    Identity,
    Row,
    TimeDuration,
    Timestamp,
    Variant,
    field,
    micros_from_seconds,
)
from .websocket import Socket, SocketFactory, SocketOptions, open_websocket

__all__ = [
    "MAX_HTTP_BODY_BYTES",
    "AlgebraicType",
    "AnswerTooLargeError",
    "ArgumentError",
    "ArrayType",
    "BlockingConnection",
    "BsatnCodec",
    "CallTimeoutError",
    "CallbackId",
    "ClientCache",
    "Codec",
    "CodecFactory",
    "ConnectionId",
    "ConnectionRefusedByModuleError",
    "Credentials",
    "DatabaseInfo",
    "DbConnection",
    "EventContext",
    "EventKind",
    "HttpCallResult",
    "HttpError",
    "Identity",
    "IndexDef",
    "JsonCodec",
    "LazyRow",
    "LogRecord",
    "MessageTooLargeError",
    "ModuleSchema",
    "NotFoundError",
    "OutOfEnergyError",
    "OutcomeUnknownError",
    "Primitive",
    "ProductType",
    "ProtocolError",
    "PublishResult",
    "QueryError",
    "QueryResult",
    "ReconnectPolicy",
    "ReducerDef",
    "ReducerEvent",
    "ReducerFailedError",
    "ReducerStatus",
    "Ref",
    "RequestTooLargeError",
    "Row",
    "SchemaError",
    "Socket",
    "SocketFactory",
    "SocketOptions",
    "SpacetimeConnectionError",
    "SpacetimeError",
    "SpacetimeHttp",
    "SqlResult",
    "Stream",
    "StreamFactory",
    "SubscriptionHandle",
    "SubscriptionState",
    "SumType",
    "TableCache",
    "TableDef",
    "TableDiff",
    "TimeDuration",
    "Timestamp",
    "TokenStore",
    "TokenStoreError",
    "TypeRegistry",
    "Typespace",
    "Variant",
    "default_token_dir",
    "field",
    "micros_from_seconds",
    "open_stream",
    "open_websocket",
    "read_token_file",
]
