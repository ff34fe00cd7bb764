"""``DbConnection``: one WebSocket session with a database, kept alive across drops.

Calls are pipelined: each gets a request id and a future, frames leave in call order through
one writer task, and the reader resolves futures as outcomes arrive. When the connection drops
(not on ``disconnect()``), calls in flight fail with ``OutcomeUnknownError`` and the
connection comes back with exponential backoff, fetches the schema again, subscribes every
live handle again and reconciles the cache with what the server holds now.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self

import attrs
import httpx
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.frames import CloseCode

from ..log import get_logger
from .cache import ClientCache, TableRows
from .callbacks import CallbackId, Callbacks
from .calls import PendingCall, PendingCalls
from .codec import BsatnCodec, Codec, CodecFactory
from .errors import (
    ArgumentError,
    CallTimeoutError,
    ConnectionRefusedByModuleError,
    MessageTooLargeError,
    OutcomeUnknownError,
    ProtocolError,
    QueryError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from .events import EventContext, EventKind, ReducerEvent
from .http import SpacetimeHttp
from .protocol import (
    CallReducer,
    Committed,
    DatabaseUpdate,
    IdentityToken,
    OneOffQuery,
    OneOffQueryResponse,
    ServerMessage,
    SubscribeMulti,
    SubscribeMultiApplied,
    SubscriptionError,
    TransactionUpdate,
    UnknownMessage,
    UnsubscribeMulti,
    UnsubscribeMultiApplied,
)
from .reconnect import ReconnectPolicy
from .registry import TypeRegistry
from .schema import ModuleSchema
from .subscription import SubscriptionHandle, SubscriptionState
from .token_store import TokenStore, bearer_header
from .values import ConnectionId, Identity
from .websocket import Socket, SocketFactory, SocketOptions, open_websocket
from .wire import (
    DEFAULT,
    Default,
    call_args,
    encode_checked,
    next_request_id,
    outcome_error,
    reducer_event,
    refuse_unanswerable,
    subscribe_url,
)

log = get_logger(__name__)


@attrs.frozen
class QueryResult:
    """The rows one table contributed to a one-off query."""

    table_name: str
    rows: tuple[Any, ...]


@attrs.define
class _Resync:
    """After a reconnect: fresh subscription rows collect here until every handle is applied
    again, then the visible cache is reconciled with them in one step."""

    shadow: ClientCache
    awaiting: set[int]


@attrs.define(eq=False)
class _Session:
    """One WebSocket and what belongs to it alone."""

    ws: Socket
    codec: Codec
    schema: ModuleSchema
    connection_id: ConnectionId
    outbox: asyncio.Queue[tuple[str | bytes, PendingCall | None]] = attrs.field(
        factory=asyncio.Queue
    )
    queries: dict[bytes, asyncio.Future[OneOffQueryResponse]] = attrs.field(factory=dict)
    handles: dict[int, SubscriptionHandle] = attrs.field(factory=dict)
    """query id -> handle, for the subscriptions sent on this socket."""
    resync: _Resync | None = None
    writer: asyncio.Task[None] | None = None

    def send(self, frame: str | bytes, call: PendingCall | None = None) -> None:
        self.outbox.put_nowait((frame, call))

    async def write(self) -> None:
        """Sends queued frames in order; ends (quietly) when the socket closes."""
        while True:
            frame, call = await self.outbox.get()
            if call is not None:
                if call.future.done():  # timed out before it left: do not send it at all
                    continue
                call.sent = True
            try:
                await self.ws.send(frame)
            except ConnectionClosed:
                return


class DbConnection:
    """A connection to one database; use as ``async with DbConnection(...) as conn``."""

    def __init__(
        self,
        base_url: str,
        database: str,
        *,
        token: str | None = None,
        token_store: TokenStore | None = None,
        types: TypeRegistry | None = None,
        reconnect: ReconnectPolicy | None = None,
        call_timeout: float | None = 30.0,
        connect_timeout: float = 10.0,
        max_message_bytes: int | None = 256 << 20,
        codec: CodecFactory = BsatnCodec,
        connect: SocketFactory = open_websocket,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``token`` (or the one ``token_store`` holds for this server and database) says who
        connects; without one the server creates an identity, whose token is then saved to
        ``token_store``. ``types`` decodes named types into your classes. ``call_timeout`` is
        the default for ``call_reducer``, in seconds; ``max_message_bytes`` bounds what the
        server may send in one message. ``codec`` picks the wire format: `BsatnCodec`
        (``v1.bsatn.spacetimedb``, the default: binary frames, far less CPU per row on both
        ends) or `JsonCodec` (``v1.json.spacetimedb``, readable frames); both give the same
        values.

        The seams (a test's fakes; the defaults talk to a server): ``connect`` opens the
        WebSocket (`websocket.SocketFactory`), ``transport`` carries the HTTP request for
        the schema (`SpacetimeHttp`'s), ``sleep`` waits the reconnect delays."""
        self.base_url = base_url.rstrip("/")
        self.database = database
        self._token_store = token_store
        if token is None and token_store is not None:
            token = token_store.load(self.base_url, database)
        self.token = token
        self.identity: Identity | None = None
        self.connection_id: ConnectionId | None = None
        self.schema: ModuleSchema | None = None
        self.cache = ClientCache()
        self._types = types
        self._reconnect = reconnect if reconnect is not None else ReconnectPolicy()
        self._call_timeout = call_timeout
        self._connect_timeout = connect_timeout
        self._max_message_bytes = max_message_bytes
        self._codec_factory = codec
        self._open_socket = connect
        self._transport = transport
        self._sleep = sleep
        self._log = log.bind(database=database)

        self._session: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        """Set while connected, or once closed for good; clear while reconnecting."""
        self._closing = False
        self._calls = PendingCalls()
        self._handles: list[SubscriptionHandle] = []
        self._ids = itertools.count(1)
        self._on_connect: Callbacks[[DbConnection, Identity, str]] = Callbacks("on_connect")
        self._on_disconnect: Callbacks[[DbConnection, Exception | None]] = Callbacks(
            "on_disconnect"
        )
        self._on_connect_error: Callbacks[[DbConnection, Exception]] = Callbacks("on_connect_error")
        self._on_reducer: dict[str, Callbacks[[ReducerEvent]]] = {}

    # --- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    @property
    def is_connected(self) -> bool:
        """True while a WebSocket session is open (False while reconnecting)."""
        return self._session is not None

    @property
    def calls_in_flight(self) -> int:
        """Reducer calls sent to the server whose outcome has not arrived yet."""
        return self._calls.sent()

    @property
    def is_closed(self) -> bool:
        """True once the connection is over for good: `disconnect` was called, or reconnecting
        gave up (`ReconnectPolicy.max_attempts`). Calls then fail at once, nothing sent."""
        return self._supervisor is not None and self._supervisor.done()

    async def connect(self) -> None:
        """Opens the connection; raises (and runs ``on_connect_error``) if it cannot. Later
        drops are handled by reconnecting."""
        if self._supervisor is not None and not self._supervisor.done():
            raise SpacetimeError("already connected; call disconnect() first")
        self._closing = False
        self._settled.clear()
        try:
            session = await self._open()
        except SpacetimeError as error:
            self._settled.set()
            self._on_connect_error(self, error)
            raise
        self._supervisor = asyncio.create_task(self._supervise(session))

    async def disconnect(self) -> None:
        """Closes the connection for good: no reconnect. Calls still in flight fail with
        OutcomeUnknownError; the cache keeps its last rows."""
        supervisor = self._supervisor
        if supervisor is None or supervisor.done():
            return
        self._closing = True
        if self._session is not None:
            await self._session.ws.close()
        else:  # waiting to reconnect
            supervisor.cancel()
        await asyncio.gather(supervisor, return_exceptions=True)

    # --- callbacks ----------------------------------------------------------------------

    def on_connect(self, callback: Callable[[DbConnection, Identity, str], object]) -> CallbackId:
        """``callback(conn, identity, token)`` after each successful (re)connection."""
        return self._on_connect.add(callback)

    def on_disconnect(
        self, callback: Callable[[DbConnection, Exception | None], object]
    ) -> CallbackId:
        """``callback(conn, error)`` when the connection ends: ``error`` is None after
        ``disconnect()``; otherwise a reconnect follows if the policy allows."""
        return self._on_disconnect.add(callback)

    def on_connect_error(self, callback: Callable[[DbConnection, Exception], object]) -> CallbackId:
        """``callback(conn, error)`` when ``connect()`` fails."""
        return self._on_connect_error.add(callback)

    def on_reducer(self, reducer: str, callback: Callable[[ReducerEvent], object]) -> CallbackId:
        """``callback(event)`` for every reported call of ``reducer``: by anyone when it
        changed subscribed rows, and every outcome of this connection's own calls."""
        return self._on_reducer.setdefault(reducer, Callbacks(f"on_reducer:{reducer}")).add(
            callback
        )

    def remove_callback(self, callback_id: CallbackId) -> bool:
        """Removes a connection or reducer callback; returns whether it was registered."""
        groups: list[Callbacks[...]] = [
            self._on_connect,
            self._on_disconnect,
            self._on_connect_error,
        ]
        return any(group.remove(callback_id) for group in [*groups, *self._on_reducer.values()])

    # --- requests -----------------------------------------------------------------------

    async def call_reducer(
        self,
        reducer: str,
        *args: object,
        timeout: float | Default | None = DEFAULT,  # noqa: ASYNC109 - defaults per connection
    ) -> ReducerEvent:
        """Calls ``reducer`` and waits for its outcome; many calls may be in flight at once.

        Raises ArgumentError/SchemaError before sending anything when the call does not fit
        the schema, AnswerTooLargeError (an ArgumentError) when the answer, which echoes the
        arguments, could not fit ``max_message_bytes``, ReducerFailedError / OutOfEnergyError
        when it was rolled back, CallTimeoutError / OutcomeUnknownError when its outcome is
        unknown. (A 1.2.0 server does not tell the caller about an out-of-energy call at all:
        it ends in CallTimeoutError, so keep a timeout.)
        """
        wait = self._call_timeout if timeout is DEFAULT else timeout
        loop = asyncio.get_running_loop()
        deadline = None if wait is None else loop.time() + wait
        session = await self._live_session(wait)
        args_raw = call_args(session.schema, session.codec, reducer, args)
        request_id = self._next_id()
        frame = encode_checked(session.codec, CallReducer(reducer, args_raw, request_id))
        refuse_unanswerable(reducer, frame, self._max_message_bytes)
        call = PendingCall(request_id, reducer, args_raw, loop.create_future())
        self._calls.add(call)
        session.send(frame, call)
        # A timer, not asyncio.wait_for: awaiting the future itself resumes this call one
        # loop iteration sooner once the outcome is in.
        timer = None if deadline is None else loop.call_at(deadline, _expire, call.future)
        try:
            return await call.future
        except _CallExpiredError:
            if not call.sent:
                raise SpacetimeConnectionError(
                    f"reducer {reducer!r} could not be sent within {wait} s; nothing was sent"
                ) from None
            raise CallTimeoutError(reducer, request_id, wait or 0.0) from None
        finally:
            if timer is not None:
                timer.cancel()
            self._calls.discard(request_id)

    async def subscribe(
        self, queries: str | Sequence[str], *, renew: bool = True
    ) -> SubscriptionHandle:
        """Subscribes to SQL queries; returns once their rows are in the cache. Raises
        QueryError when the server refuses a query. A reconnect subscribes them again
        (`SubscriptionHandle.update_queries` says to what); with ``renew=False`` the
        connection's drop ends the subscription instead (a ``subscribe()`` still waiting raises
        the drop's SpacetimeConnectionError), for a caller that decides what to ask for once
        reconnected, such as one that reads a backlog in bounded pages first."""
        query_strings = (queries,) if isinstance(queries, str) else tuple(queries)
        if not query_strings:
            raise ArgumentError("subscribe() needs at least one query")
        session = await self._live_session(self._call_timeout)
        handle = SubscriptionHandle(query_strings, self._unsubscribe, renew=renew)
        self._handles.append(handle)
        self._send_subscribe(session, handle)
        try:
            await asyncio.shield(handle.applied)
        except asyncio.CancelledError:
            self._request_unsubscribe(handle)
            raise
        return handle

    async def one_off_query(
        self,
        query: str,
        *,
        timeout: float | Default | None = DEFAULT,  # noqa: ASYNC109 - defaults per connection
        each: Callable[[Any], Any] | None = None,
        columns: Callable[[tuple[str, ...]], Callable[[tuple[object, ...]], Any]] | None = None,
    ) -> list[QueryResult]:
        """Runs a read-only SQL query once, without subscribing; rows are decoded. With ``each``,
        the results hold ``each(row)`` of every decoded row instead, called as the row is
        decoded (a caller reading many rows keeps only what it needs of each; the rest is freed
        at once). With ``columns`` instead, no row object is built: for each table answered,
        ``columns(names)`` (its column names in row order) gives the function each row's column
        values (a tuple in that order, `Codec.decode_columns`) are handed to, and the results
        hold what it returns. What ``each`` or ``columns`` raises is raised here; ArgumentError
        (nothing sent) when both are given."""
        if each is not None and columns is not None:
            raise ArgumentError("one_off_query takes each or columns, not both; nothing was sent")
        wait = self._call_timeout if timeout is DEFAULT else timeout
        session = await self._live_session(wait)
        message_id = self._next_id().to_bytes(4, "big")
        future: asyncio.Future[OneOffQueryResponse] = asyncio.get_running_loop().create_future()
        session.queries[message_id] = future
        session.send(encode_checked(session.codec, OneOffQuery(message_id, query)))
        try:
            response = await asyncio.wait_for(future, wait)
        except TimeoutError:
            raise SpacetimeConnectionError(f"query {query!r}: no answer within {wait} s") from None
        finally:
            session.queries.pop(message_id, None)
        if response.error is not None:
            raise QueryError(query, response.error)
        results = []
        for table in response.tables:
            table_def = session.schema.table(table.table_name)
            if columns is not None:
                read = columns(table_def.column_names)
                decode = functools.partial(session.codec.decode_columns, table_def)
                rows = tuple(map(read, map(decode, table.rows)))
            else:
                decode_row = functools.partial(session.codec.decode_row, table_def)
                decoded = map(decode_row, table.rows)
                rows = tuple(decoded if each is None else map(each, decoded))
            results.append(QueryResult(table.table_name, rows))
        return results

    # --- internals: requests ------------------------------------------------------------

    def _next_id(self) -> int:
        return next_request_id(self._ids)

    async def _live_session(self, wait: float | None) -> _Session:
        if self._supervisor is None:
            raise SpacetimeConnectionError("not connected: call connect() first; nothing was sent")
        if self._session is None:
            try:
                await asyncio.wait_for(self._settled.wait(), wait)
            except TimeoutError:
                raise SpacetimeConnectionError(
                    f"still reconnecting after {wait} s; nothing was sent"
                ) from None
        if self._session is None:
            raise SpacetimeConnectionError("the connection is closed; nothing was sent")
        return self._session

    def _send_subscribe(self, session: _Session, handle: SubscriptionHandle) -> None:
        handle.query_id = self._next_id()
        session.handles[handle.query_id] = handle
        if session.resync is not None:  # rows must reach the cache before subscribe() returns
            session.resync.awaiting.add(handle.query_id)
        session.send(
            encode_checked(
                session.codec, SubscribeMulti(handle.queries, self._next_id(), handle.query_id)
            )
        )

    def _request_unsubscribe(self, handle: SubscriptionHandle) -> None:
        session = self._session
        if handle.state not in (SubscriptionState.PENDING, SubscriptionState.ACTIVE):
            return
        if session is None:  # not connected: it is simply not subscribed again
            self._forget(handle)
            handle.finish()
        elif handle.state is SubscriptionState.ACTIVE:
            handle.state = SubscriptionState.ENDING
            session.send(
                encode_checked(session.codec, UnsubscribeMulti(self._next_id(), handle.query_id))
            )
        else:
            handle.state = SubscriptionState.ENDING  # unsubscribed as soon as it is applied

    async def _unsubscribe(self, handle: SubscriptionHandle) -> None:
        self._request_unsubscribe(handle)
        await asyncio.shield(handle.ended)

    def _forget(self, handle: SubscriptionHandle) -> None:
        if handle in self._handles:
            self._handles.remove(handle)
        if self._session is not None:
            self._session.handles.pop(handle.query_id, None)

    # --- internals: connection ----------------------------------------------------------

    async def _open(self) -> _Session:
        """Fetches the schema, opens the socket and reads the identity, then starts the
        session (subscribing live handles again after a reconnect)."""
        async with self._http() as http:
            schema = await http.schema(self.database)
        codec = self._codec_factory(schema, self._types)
        headers = bearer_header(self.token, "DbConnection.token") if self.token else {}
        options = SocketOptions(
            codec.subprotocol, headers, self._connect_timeout, self._max_message_bytes
        )
        url = subscribe_url(self.base_url, self.database, codec)
        try:
            ws = await self._open_socket(url, options)
        except (OSError, TimeoutError, WebSocketException) as error:
            raise SpacetimeConnectionError(f"cannot open {url}: {error}") from error
        try:
            message = _identity_token(
                codec.decode_message(await asyncio.wait_for(ws.recv(), self._connect_timeout))
            )
            if message.token != self.token and self._token_store is not None:
                self._token_store.save(self.base_url, self.database, message.token)
        except BaseException as error:
            await ws.close()
            if isinstance(error, ConnectionClosed) and error.rcvd is None:
                # Closed without a close frame before the identity: how SpacetimeDB 1.2.0
                # ends a connection the module's client_connected refused.
                raise ConnectionRefusedByModuleError(url, await self._refusal()) from error
            if isinstance(error, ConnectionClosed | TimeoutError | ProtocolError):
                raise SpacetimeConnectionError(f"no identity from {url}: {error}") from error
            raise
        return self._start(ws, codec, schema, message)

    def _http(self) -> SpacetimeHttp:
        """An HTTP client as this connection's identity, with its connect timeout."""
        return SpacetimeHttp(
            self.base_url,
            token=self.token,
            timeout=self._connect_timeout,
            transport=self._transport,
        )

    async def _refusal(self) -> str | None:
        """The module's reason for refusing this identity's connection, asked over HTTP."""
        try:
            async with self._http() as http:
                return await http.connection_refusal(self.database)
        except SpacetimeError as error:
            return f"(asking why over HTTP failed: {error})"

    def _start(
        self, ws: Socket, codec: Codec, schema: ModuleSchema, token: IdentityToken
    ) -> _Session:
        session = _Session(ws, codec, schema, token.connection_id)
        reconnected = self.schema is not None
        self.identity, self.connection_id, self.schema = (
            token.identity,
            token.connection_id,
            schema,
        )
        self.token = token.token
        self.cache.adopt_schema(schema)
        if reconnected:
            session.resync = _Resync(ClientCache(schema), set())
            for handle in list(self._handles):
                if handle.state is SubscriptionState.ENDING:
                    self._forget(handle)
                    handle.finish()
                else:
                    self._send_subscribe(session, handle)
            self._finish_resync_if_done(session)
        session.writer = asyncio.create_task(session.write())
        self._session = session
        self._settled.set()
        self._log.info(
            "connected",
            identity=token.identity.hex,
            connection_id=token.connection_id.hex,
            reconnected=reconnected,
        )
        self._on_connect(self, token.identity, token.token)
        return session

    async def _supervise(self, first: _Session) -> None:
        session: _Session | None = first
        error: Exception | None = None
        try:
            while session is not None:
                error = await self._read(session)
                self._drop(session, error)
                session = None
                if not self._closing and self._reconnect.enabled:
                    session = await self._reopen()
                    if session is not None and self._closing:
                        # disconnect() came while reopening and its cancel was lost (a
                        # wait_for that completes as it is cancelled swallows the cancel)
                        await session.ws.close()
        finally:
            live = self._session
            if live is not None:  # cancelled by disconnect() right after reconnecting
                await live.ws.close()
                self._drop(live, None)
            self._close_for_good(error)

    async def _reopen(self) -> _Session | None:
        for attempt, delay in enumerate(self._reconnect.delays(), 1):
            self._log.info("reconnecting", attempt=attempt, delay=round(delay, 3))
            await self._sleep(delay)
            try:
                return await self._open()
            except SpacetimeError as error:
                self._log.warning("reconnect_failed", attempt=attempt, error=str(error))
        self._log.error("reconnect_gave_up")
        return None

    async def _read(self, session: _Session) -> Exception | None:
        """Handles messages until the socket closes; returns why it closed (None: by us)."""
        try:
            async for frame in session.ws:
                self._handle(session, session.codec.decode_message(frame))
        except ConnectionClosed as closed:
            if self._closing:
                return None
            if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
                return MessageTooLargeError(self._max_message_bytes)
            return SpacetimeConnectionError(f"connection lost: {closed}")
        except Exception as error:  # a message we cannot apply: start over from a fresh state
            self._log.exception("message_failed")
            await session.ws.close(1011, "the client could not apply a message")
            return error if isinstance(error, SpacetimeError) else ProtocolError(repr(error))
        return (
            None if self._closing else SpacetimeConnectionError("the server closed the connection")
        )

    def _drop(self, session: _Session, error: Exception | None) -> None:
        """The socket is gone: fail what waited on it and tell the callbacks."""
        self._session = None
        if not self._closing:
            self._settled.clear()
        if session.writer is not None:
            session.writer.cancel()
        while not session.outbox.empty():
            _, call = session.outbox.get_nowait()
            if call is not None and not call.future.done():
                call.future.set_exception(
                    SpacetimeConnectionError(
                        f"reducer {call.reducer!r} was not sent before the connection closed; "
                        "nothing was sent"
                    )
                )
        reason = "the connection closed before its outcome arrived"
        for call in self._calls.drain():
            if not call.future.done():
                call.future.set_exception(
                    OutcomeUnknownError(call.reducer, call.request_id, reason)
                )
        for future in session.queries.values():
            if not future.done():
                future.set_exception(
                    error
                    if isinstance(error, MessageTooLargeError)
                    else SpacetimeConnectionError("the connection closed; query again")
                )
        ended = (
            error
            if isinstance(error, SpacetimeConnectionError)
            else SpacetimeConnectionError(f"the connection closed ({error or 'disconnect()'})")
        )
        for handle in [handle for handle in self._handles if not handle.renew]:
            self._forget(handle)
            handle.finish(ended)
        if error is None:
            self._log.info("disconnected")
        else:
            self._log.warning("connection_lost", error=str(error))
        self._on_disconnect(self, error)

    def _close_for_good(self, error: Exception | None) -> None:
        closed = SpacetimeConnectionError(f"the connection is closed ({error or 'disconnect()'})")
        for handle in self._handles:
            handle.finish(closed)
        self._handles.clear()
        self._settled.set()

    # --- internals: messages ------------------------------------------------------------

    def _handle(self, session: _Session, message: ServerMessage) -> None:
        match message:
            case TransactionUpdate():
                self._on_transaction(session, message)
            case SubscribeMultiApplied():
                self._on_subscribe_applied(session, message)
            case UnsubscribeMultiApplied():
                self._on_unsubscribe_applied(session, message)
            case SubscriptionError():
                self._on_subscription_error(session, message)
            case OneOffQueryResponse():
                future = session.queries.pop(message.message_id, None)
                if future is not None and not future.done():
                    future.set_result(message)
            case IdentityToken():
                raise ProtocolError("a second IdentityToken arrived on one connection")
            case UnknownMessage():
                self._log.warning("unknown_message", kind=message.kind)

    def _rows(self, session: _Session, update: DatabaseUpdate) -> list[TableRows]:
        decoded = []
        for table in update.tables:
            try:
                definition = session.schema.table(table.table_name)
            except SpacetimeError as error:
                raise ProtocolError(f"update for an unknown table: {error}") from None
            lazy = self.cache.is_lazy(table.table_name)
            decode = session.codec.lazy_row if lazy else session.codec.decode_row
            decoded.append(
                TableRows(
                    table.table_name,
                    [decode(definition, row) for row in table.inserts],
                    [decode(definition, row) for row in table.deletes],
                )
            )
        return decoded

    def _apply(self, session: _Session, rows: list[TableRows], ctx: EventContext) -> None:
        """Into the visible cache, or into the shadow while a reconnect resynchronises."""
        target = session.resync.shadow if session.resync is not None else self.cache
        target.apply(rows, ctx)

    def _on_transaction(self, session: _Session, message: TransactionUpdate) -> None:
        event = reducer_event(session.schema, session.codec, message)
        if isinstance(message.status, Committed) and message.status.update.tables:
            rows = self._rows(session, message.status.update)
            self._apply(session, rows, EventContext(EventKind.REDUCER, event))
        callbacks = self._on_reducer.get(event.reducer_name)
        if callbacks is not None:
            callbacks(event)
        if message.caller_connection_id != session.connection_id:
            return
        call_info = message.reducer_call
        call = self._calls.take(call_info.request_id, call_info.reducer_name, call_info.args)
        if call is None or call.future.done():
            return
        error = outcome_error(call.reducer, event, self._log)
        if error is None:
            call.future.set_result(event)
        else:
            call.future.set_exception(error)

    def _on_subscribe_applied(self, session: _Session, message: SubscribeMultiApplied) -> None:
        handle = session.handles.get(message.query_id)
        rows = self._rows(session, message.update)
        self._apply(session, rows, EventContext(EventKind.SUBSCRIBE_APPLIED))
        self._log.info(
            "subscription_applied",
            query_id=message.query_id,
            rows=sum(len(t.inserts) for t in rows),
            duration_us=message.total_host_execution_duration_micros,
        )
        if handle is None or handle.state is SubscriptionState.ENDING:  # given up while pending
            session.send(
                encode_checked(session.codec, UnsubscribeMulti(self._next_id(), message.query_id))
            )
        if handle is not None:
            handle.mark_applied()
        if session.resync is not None:
            session.resync.awaiting.discard(message.query_id)
            self._finish_resync_if_done(session)

    def _on_unsubscribe_applied(self, session: _Session, message: UnsubscribeMultiApplied) -> None:
        handle = session.handles.pop(message.query_id, None)
        rows = self._rows(session, message.update)
        self._apply(session, rows, EventContext(EventKind.UNSUBSCRIBE_APPLIED))
        if handle is not None:
            self._forget(handle)
            handle.finish()

    def _on_subscription_error(self, session: _Session, message: SubscriptionError) -> None:
        if message.request_id is None:
            self._log.error("subscriptions_dropped", error=message.error)
            for dropped in self._handles:
                dropped.finish(QueryError("; ".join(dropped.queries), message.error))
            self._handles.clear()
            session.handles.clear()
            session.resync = None
            self.cache.clear(EventContext(EventKind.SUBSCRIPTIONS_DROPPED))
            return
        handle = session.handles.pop(message.query_id or 0, None)
        self._log.warning("subscription_failed", query_id=message.query_id, error=message.error)
        if handle is None:
            return
        was_applied = handle.applied.done()
        self._forget(handle)
        handle.finish(QueryError("; ".join(handle.queries), message.error))
        if session.resync is not None:
            session.resync.awaiting.discard(handle.query_id)
            self._finish_resync_if_done(session)
        elif was_applied:
            # Its rows are in the cache with nothing left to remove them: start over.
            raise ProtocolError("an applied subscription failed; resynchronising the cache")

    def _finish_resync_if_done(self, session: _Session) -> None:
        resync = session.resync
        if resync is None or resync.awaiting:
            return
        session.resync = None
        diffs = self.cache.reconcile(resync.shadow, EventContext(EventKind.RECONCILED))
        self._log.info(
            "cache_reconciled",
            inserts=sum(len(d.inserts) for d in diffs.values()),
            deletes=sum(len(d.deletes) for d in diffs.values()),
            updates=sum(len(d.updates) for d in diffs.values()),
        )


class _CallExpiredError(Exception):
    """Set on a call's future by its timer: its ``timeout`` ran out."""


def _expire(future: asyncio.Future[ReducerEvent]) -> None:
    if not future.done():
        future.set_exception(_CallExpiredError())


def _identity_token(message: ServerMessage) -> IdentityToken:
    if not isinstance(message, IdentityToken):
        raise ProtocolError(f"expected IdentityToken first, got {type(message).__name__}")
    return message
