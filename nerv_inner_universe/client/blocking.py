"""``BlockingConnection``: reducer calls made and awaited on the calling thread, no event loop.

One WebSocket to a database (the same handshake, subprotocol and token as `DbConnection`), no
subscriptions: the server sends it nothing but the answers to its own calls, and pings. The
calling thread writes a call's frame and reads frames until that call's answer (`websockets`'
sans-I/O protocol over a blocking socket), so a call costs no hop to another thread. Calls are
serialised by a lock; `close` from another thread wakes a caller waiting for its answer.

The server pings every 60 s and drops a connection that has not answered the previous ping by
the next one. A `BlockingConnection` reads only while a call waits (and reads what is pending
before each call), so one left idle for two minutes is dropped: the next call then fails with
SpacetimeConnectionError (nothing sent) or OutcomeUnknownError, and `connect` opens it again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from ..log import get_logger
from .codec import BsatnCodec, Codec, CodecFactory
from .errors import (
    CallTimeoutError,
    ConnectionRefusedByModuleError,
    OutcomeUnknownError,
    ProtocolError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from .events import ReducerEvent
from .http import SpacetimeHttp
from .protocol import CallReducer, IdentityToken, TransactionUpdate, UnknownMessage
from .registry import TypeRegistry
from .schema import ModuleSchema
from .token_store import bearer_header
from .values import ConnectionId, Identity
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

RECEIVE_BYTES = 1 << 18
"""The most bytes one read from the socket asks for."""


class Stream(Protocol):
    """A connected byte stream, as `socket.socket` is (a test's fake in unit tests)."""

    def sendall(self, data: bytes, /) -> None:
        """Sends every byte of ``data``; OSError when the connection is gone."""

    def recv(self, size: int, /) -> bytes:
        """Up to ``size`` bytes, b"" at the end of the stream; TimeoutError past the timeout."""

    def settimeout(self, timeout: float | None, /) -> None:
        """Seconds `recv` may wait (None: forever, 0: not at all)."""

    def shutdown(self, how: int, /) -> None:
        """Ends the connection both ways; wakes a thread blocked in `recv` (which then returns
        b"" or raises OSError)."""

    def close(self) -> None:
        """Releases the stream."""


StreamFactory = Callable[[str, int, bool, float], Stream]
"""``factory(host, port, tls, timeout)`` opens a stream to ``host:port`` (over TLS when
``tls``) within ``timeout`` seconds; raises OSError when it cannot."""


def open_stream(host: str, port: int, tls: bool, timeout: float) -> Stream:
    """The default `StreamFactory`: a TCP socket without Nagle's delay (a call is one small
    frame, answered at once), wrapped in TLS when ``tls``."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    return sock


class _ClosedError(Exception):
    """The WebSocket ended; the message says how."""

    def __init__(self, reason: str, *, with_close_frame: bool) -> None:
        super().__init__(reason)
        self.with_close_frame = with_close_frame


class _Link:
    """One open WebSocket over ``stream``: whole messages out and in, pings answered."""

    def __init__(self, stream: Stream, protocol: ClientProtocol, max_size: int | None) -> None:
        self.stream = stream
        self._protocol = protocol
        self._max_size = max_size
        self._events: collections.deque[Response | Frame] = collections.deque()
        self._parts: list[bytes] = []
        """The frames so far of a message sent in several (a first frame and continuations)."""
        self._text = False

    def flush(self) -> None:
        """Writes what the protocol has to send (a request, frames, pongs, a close)."""
        for data in self._protocol.data_to_send():
            if data:
                self.stream.sendall(data)

    def send(self, frame: str | bytes) -> None:
        """Sends one message: a text frame for ``str``, a binary one for ``bytes``."""
        if isinstance(frame, str):
            self._protocol.send_text(frame.encode())
        else:
            self._protocol.send_binary(frame)
        self.flush()

    def response(self, deadline: float) -> Response:
        """The server's answer to the opening handshake."""
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Response):
                    return event
            self._read(deadline)

    def receive(self, deadline: float | None) -> str | bytes:
        """The next whole message (a continuation's parts joined); _ClosedError when the
        connection ends first, TimeoutError past ``deadline`` (`time.monotonic`; None: no
        limit)."""
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Frame):
                    message = self._take(event)
                    if message is not None:
                        return message
            self._read(deadline)

    def drain(self) -> None:
        """Handles what has arrived without waiting (answers pings; notices an end);
        _ClosedError when the connection has ended, ProtocolError when a message was
        waiting (nothing is, between calls)."""
        while self._read(None, wait=False):
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Frame) and self._take(event) is not None:
                    raise ProtocolError("the server sent a message between calls")

    def _take(self, frame: Frame) -> str | bytes | None:
        """The message ``frame`` completes, if it does; _ClosedError on a close frame."""
        if frame.opcode is Opcode.CLOSE:
            self.flush()  # the protocol's answering close frame
            raise _ClosedError(
                f"the server closed the connection ({_how_closed(self._protocol)})",
                with_close_frame=True,
            )
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._text = frame.opcode is Opcode.TEXT
            self._parts = [bytes(frame.data)]
        elif frame.opcode is Opcode.CONT:
            self._parts.append(bytes(frame.data))
        else:
            return None  # a ping (its pong is flushed by _read) or a pong
        if self._max_size is not None and sum(map(len, self._parts)) > self._max_size:
            raise _ClosedError(
                f"the server sent a message over the client's limit of {self._max_size} "
                "bytes (max_message_bytes)",
                with_close_frame=True,
            )
        if not frame.fin:
            return None
        data, self._parts = b"".join(self._parts), []
        return data.decode() if self._text else data

    def _read(self, deadline: float | None, *, wait: bool = True) -> bool:
        """Reads once from the stream into the protocol and takes its events; without
        ``wait``, only what has arrived (False when nothing had)."""
        if not wait:
            self.stream.settimeout(0)
        elif deadline is None:
            self.stream.settimeout(None)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.stream.settimeout(left)
        try:
            data = self.stream.recv(RECEIVE_BYTES)
        except (BlockingIOError, ssl.SSLWantReadError):
            if wait:
                raise
            return False
        except TimeoutError:
            raise
        except OSError as error:
            raise _ClosedError(f"the connection failed: {error}", with_close_frame=False) from None
        if data:
            self._protocol.receive_data(data)
        else:
            self._protocol.receive_eof()
        self._events.extend(
            event for event in self._protocol.events_received() if not isinstance(event, Request)
        )
        self.flush()
        if not data and not self._events:
            raise _ClosedError("the server closed the connection", with_close_frame=False)
        if self._protocol.state in (State.CLOSING, State.CLOSED) and not self._events:
            raise _ClosedError(
                f"the connection closed ({_how_closed(self._protocol)})", with_close_frame=True
            )
        return True


class BlockingConnection:
    """A connection to one database whose reducer calls are made and awaited on the calling
    thread (module docstring): ``with BlockingConnection(...) as conn: conn.call_reducer(...)``.

    ``schema`` is the module's (`DbConnection.schema` or `SpacetimeHttp.schema`); ``token``
    says who connects (without one the server creates an identity); ``call_timeout`` (seconds)
    is the default for `call_reducer`, ``connect_timeout`` bounds opening;
    ``max_message_bytes`` bounds one message the server may send; ``codec`` picks the wire
    format (`BsatnCodec` by default, or `JsonCodec`); ``connect`` opens the byte stream (a
    test's fake; the default is a TCP socket). Thread-safe: calls are serialised."""

    def __init__(
        self,
        base_url: str,
        database: str,
        schema: ModuleSchema,
        *,
        token: str | None = None,
        types: TypeRegistry | None = None,
        call_timeout: float | None = 30.0,
        connect_timeout: float = 10.0,
        max_message_bytes: int | None = 256 << 20,
        codec: CodecFactory = BsatnCodec,
        connect: StreamFactory = open_stream,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.schema = schema
        self.token = token
        self.identity: Identity | None = None
        self.connection_id: ConnectionId | None = None
        self._codec: Codec = codec(schema, types)
        self._call_timeout = call_timeout
        self._connect_timeout = connect_timeout
        self._max_message_bytes = max_message_bytes
        self._open_stream = connect
        self._lock = threading.Lock()
        self._link: _Link | None = None
        self._closed = False
        self._ids = itertools.count(1)
        self._log = log.bind(database=database)

    def __enter__(self) -> BlockingConnection:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_connected(self) -> bool:
        """True while the WebSocket is open (it may have been dropped by the server since the
        last call: the next call finds out)."""
        return self._link is not None

    def connect(self) -> None:
        """Opens the WebSocket and reads the identity the server gives it. Raises
        SpacetimeConnectionError when the server cannot be reached or does not answer within
        ``connect_timeout`` (ConnectionRefusedByModuleError when the module's
        ``client_connected`` refuses the connection), SpacetimeError when it is open already
        or was closed (`close` is for good)."""
        with self._lock:
            if self._closed:
                raise SpacetimeConnectionError("the connection was closed; nothing was sent")
            if self._link is not None:
                raise SpacetimeError("already connected; a call reconnects after a drop")
            self._link = self._open()

    def call_reducer(
        self, reducer: str, *args: object, timeout: float | Default | None = DEFAULT
    ) -> ReducerEvent:
        """Calls ``reducer`` and waits for its outcome on this thread (``timeout`` seconds,
        None: no limit; by default ``call_timeout``); other threads' calls wait their turn.

        Raises, like `DbConnection.call_reducer`: ArgumentError/SchemaError before sending
        anything when the call does not fit the schema (AnswerTooLargeError when its answer
        could not fit ``max_message_bytes``), ReducerFailedError / OutOfEnergyError when it
        was rolled back, CallTimeoutError / OutcomeUnknownError when its outcome is unknown
        (the connection is then closed: `connect` opens it again), SpacetimeConnectionError
        when it is not connected and nothing was sent."""
        wait = self._call_timeout if timeout is DEFAULT else timeout
        args_raw = call_args(self.schema, self._codec, reducer, args)
        with self._lock:
            link = self._live()
            request_id = next_request_id(self._ids)
            frame = encode_checked(self._codec, CallReducer(reducer, args_raw, request_id))
            refuse_unanswerable(reducer, frame, self._max_message_bytes)
            try:
                link.drain()
                link.send(frame)
            except (_ClosedError, OSError, ProtocolError) as error:
                self._drop(link)
                why = "was closed" if self._closed else f"is gone ({error})"  # close() raced
                raise SpacetimeConnectionError(
                    f"reducer {reducer!r}: the connection {why}; nothing was sent"
                ) from None
            deadline = None if wait is None else time.monotonic() + wait
            try:
                answer = self._answer(link, reducer, request_id, deadline)
            except TimeoutError:
                self._drop(link)
                raise CallTimeoutError(reducer, request_id, wait or 0.0) from None
            except _ClosedError as closed:
                self._drop(link)
                raise OutcomeUnknownError(reducer, request_id, str(closed)) from None
            except BaseException:
                self._drop(link)
                raise
        event = reducer_event(self.schema, self._codec, answer)
        refused = outcome_error(reducer, event, self._log)
        if refused is not None:
            raise refused
        return event

    def close(self) -> None:
        """Closes the connection for good, from any thread: a call waiting for its answer
        fails at once with OutcomeUnknownError; later calls fail with
        SpacetimeConnectionError, nothing sent."""
        self._closed = True
        link = self._link
        if link is not None:
            with contextlib.suppress(OSError):  # not connected any more
                link.stream.shutdown(socket.SHUT_RDWR)  # wakes a caller blocked reading
        with self._lock:
            if self._link is not None:
                self._drop(self._link)

    def _live(self) -> _Link:
        if self._closed:
            raise SpacetimeConnectionError("the connection was closed; nothing was sent")
        if self._link is None:
            raise SpacetimeConnectionError("not connected: call connect() first; nothing was sent")
        return self._link

    def _answer(
        self, link: _Link, reducer: str, request_id: int, deadline: float | None
    ) -> TransactionUpdate:
        """Reads messages until the answer to this connection's call ``request_id`` of
        ``reducer``. The 1.2.0 server reports a failed call with request id 0 (`calls`); with
        one call in flight at a time, such a report of ``reducer`` on this connection is its."""
        while True:
            message = self._codec.decode_message(link.receive(deadline))
            match message:
                case TransactionUpdate() if (
                    message.caller_connection_id == self.connection_id
                    and message.reducer_call.request_id in (request_id, 0)
                    and message.reducer_call.reducer_name == reducer
                ):
                    return message
                case IdentityToken():
                    raise ProtocolError("a second IdentityToken arrived on one connection")
                case UnknownMessage():
                    self._log.warning("unknown_message", kind=message.kind)
                case _:
                    self._log.debug("message_ignored", kind=type(message).__name__)

    def _drop(self, link: _Link) -> None:
        self._link = None
        with contextlib.suppress(OSError):  # closing what is already gone
            link.stream.close()

    def _open(self) -> _Link:
        url = subscribe_url(self.base_url, self.database, self._codec)
        deadline = time.monotonic() + self._connect_timeout
        try:
            uri = parse_uri(url)
            stream = self._open_stream(uri.host, uri.port, uri.secure, self._connect_timeout)
        except (OSError, InvalidURI) as error:
            raise SpacetimeConnectionError(f"cannot open {url}: {error}") from error
        protocol = ClientProtocol(
            uri, subprotocols=[Subprotocol(self._codec.subprotocol)], max_size=None
        )
        link = _Link(stream, protocol, self._max_message_bytes)
        try:
            request = protocol.connect()
            if self.token:
                request.headers.update(bearer_header(self.token, "BlockingConnection.token"))
            protocol.send_request(request)
            link.flush()
            link.response(deadline)
            _check_handshake(protocol)
            message = self._codec.decode_message(link.receive(deadline))
        except _ClosedError as closed:
            link.stream.close()
            if not closed.with_close_frame:
                # Closed without a close frame before the identity: how SpacetimeDB 1.2.0
                # ends a connection the module's client_connected refused.
                raise ConnectionRefusedByModuleError(url, self._refusal()) from None
            raise SpacetimeConnectionError(f"no identity from {url}: {closed}") from None
        except (OSError, TimeoutError, InvalidHandshake) as error:
            link.stream.close()
            raise SpacetimeConnectionError(f"cannot open {url}: {error!r}") from error
        except BaseException:
            link.stream.close()
            raise
        if not isinstance(message, IdentityToken):
            link.stream.close()
            raise ProtocolError(f"expected IdentityToken first, got {type(message).__name__}")
        self.identity, self.connection_id, self.token = (
            message.identity,
            message.connection_id,
            message.token,
        )
        self._log.info("blocking_connected", connection_id=message.connection_id.hex)
        return link

    def _refusal(self) -> str | None:
        """The module's reason for refusing this identity's connection, asked over HTTP (on a
        thread of its own: the caller's may be running an event loop)."""

        async def ask() -> str | None:
            try:
                async with SpacetimeHttp(
                    self.base_url, token=self.token, timeout=self._connect_timeout
                ) as http:
                    return await http.connection_refusal(self.database)
            except SpacetimeError as error:
                return f"(asking why over HTTP failed: {error})"

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, ask()).result()


def _check_handshake(protocol: ClientProtocol) -> None:
    """The server's refusal of the opening handshake (InvalidHandshake), if it refused."""
    if protocol.handshake_exc is not None:
        raise protocol.handshake_exc


def _how_closed(protocol: ClientProtocol) -> str:
    """The close code and reason received (or sent, when the client failed the connection)."""
    close = protocol.close_rcvd or protocol.close_sent
    if close is None:
        return "no close frame"
    return f"code {close.code}: {close.reason or 'no reason given'}"
