"""`BlockingConnection` against a fake byte stream: the server's side of the WebSocket is
`websockets`' own sans-I/O `ServerProtocol`, so the frames are real; the test decides what the
server answers, in what pieces, and when the connection ends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from nerv_inner_universe.client import (
    AnswerTooLargeError,
    BlockingConnection,
    CallTimeoutError,
    ConnectionRefusedByModuleError,
    JsonCodec,
    ModuleSchema,
    OutcomeUnknownError,
    ProtocolError,
    ReducerFailedError,
    ReducerStatus,
    SpacetimeConnectionError,
    Stream,
)
from nerv_inner_universe.client.protocol import SUBPROTOCOL
from tests.unit.client.fake_server import identity_token, transaction_update

Reply = Callable[["FakeStream", dict[str, Any]], None]
"""What the fake server does with a ``CallReducer`` body it received."""


def commit(stream: FakeStream, call: dict[str, Any]) -> None:
    """Answers ``call``: committed, no rows."""
    stream.push(transaction_update(call, stream.connection_id, {"Committed": {"tables": []}}))


class FakeStream:
    """One connection's bytes. ``chunk`` bytes at most come out of each `recv` (framing across
    reads); with nothing to read, `recv` blocks until `shutdown` or its timeout, or returns
    b"" once `end` was called."""

    def __init__(self, connection_id: int, reply: Reply, chunk: int | None = None) -> None:
        self.connection_id = connection_id
        self.reply = reply
        self.chunk = chunk
        self.server = ServerProtocol(subprotocols=[Subprotocol(SUBPROTOCOL)], max_size=None)
        self.outgoing = bytearray()
        self.calls: list[dict[str, Any]] = []
        self.received: list[Frame] = []
        """Every frame the client sent after the handshake, in order."""
        self.headers: dict[str, str] = {}
        self.timeout: float | None = None
        self.ended = False
        self.shut = threading.Event()
        self.closed = False
        self.waiting = threading.Event()
        """Set while a `recv` blocks."""
        self.greet = True
        """False: the connection ends after the handshake, before the identity."""

    def push(self, message: dict[str, Any]) -> None:
        """Sends ``message`` as one text frame."""
        self.server.send_text(json.dumps(message).encode())
        self._take_output()

    def push_frame(self, frame: Frame) -> None:
        """Sends one raw frame (a ping, a continuation...)."""
        self.server.send_frame(frame)
        self._take_output()

    def end(self) -> None:
        """The server drops the connection (no close frame)."""
        self.ended = True

    def _take_output(self) -> None:
        for data in self.server.data_to_send():
            self.outgoing += data

    # --- Stream ------------------------------------------------------------------------

    def sendall(self, data: bytes, /) -> None:
        if self.closed or self.shut.is_set():
            raise OSError(32, "Broken pipe")
        self.server.receive_data(data)
        for event in self.server.events_received():
            if isinstance(event, Request):
                self.headers = dict(event.headers.raw_items())
                self.server.send_response(self.server.accept(event))
                self._take_output()
                if self.greet:
                    self.push(identity_token(self.connection_id))
                else:  # how a server ends a connection its module refused
                    self.end()
                continue
            assert isinstance(event, Frame)
            self.received.append(event)
            if event.opcode is Opcode.TEXT:
                body = json.loads(bytes(event.data))
                if "CallReducer" in body:
                    self.calls.append(body["CallReducer"])
                    self.reply(self, body["CallReducer"])
        self._take_output()

    def recv(self, size: int, /) -> bytes:
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        if not self.outgoing:
            if self.ended or self.shut.is_set():
                return b""
            if self.timeout == 0:
                raise BlockingIOError(11, "Resource temporarily unavailable")
            self.waiting.set()
            woken = self.shut.wait(self.timeout if self.timeout is not None else 30)
            self.waiting.clear()
            if not woken:
                raise TimeoutError("timed out")
            return b""
        take = min(size, self.chunk or size, len(self.outgoing))
        data = bytes(self.outgoing[:take])
        del self.outgoing[:take]
        return data

    def settimeout(self, timeout: float | None, /) -> None:
        self.timeout = timeout

    def shutdown(self, how: int, /) -> None:
        self.shut.set()

    def close(self) -> None:
        self.closed = True


class Server:
    """Opens `FakeStream`s (the connection's `StreamFactory`), each answering calls with
    ``reply``."""

    def __init__(self, reply: Reply = commit, chunk: int | None = None) -> None:
        self.reply = reply
        self.chunk = chunk
        self.streams: list[FakeStream] = []
        self.greet = True

    @property
    def stream(self) -> FakeStream:
        return self.streams[-1]

    def connect(self, host: str, port: int, tls: bool, timeout: float) -> Stream:
        stream = FakeStream(len(self.streams) + 1, self.reply, self.chunk)
        stream.greet = self.greet
        self.streams.append(stream)
        return stream


def connection(schema: ModuleSchema, server: Server, **options: Any) -> BlockingConnection:
    return BlockingConnection(
        "http://127.0.0.1:1",
        "db",
        schema,
        token="a-token",
        codec=JsonCodec,
        connect=server.connect,
        **options,
    )


def test_a_call_read_one_byte_at_a_time_returns_its_committed_event(
    schema: ModuleSchema,
) -> None:
    server = Server(chunk=1)
    with connection(schema, server) as conn:
        event = conn.call_reducer("update_config", "k", "v", None)
        again = conn.call_reducer("update_config", "k", "w", None)
    assert event.status is ReducerStatus.COMMITTED
    assert event.args == ("k", "v", None)
    assert [call["request_id"] for call in server.stream.calls] == [
        event.request_id,
        again.request_id,
    ]
    assert event.request_id != again.request_id
    assert server.stream.headers["Authorization"] == "Bearer a-token"
    assert conn.connection_id is not None
    assert conn.token == "fake-token"


def test_a_ping_is_answered_and_answers_to_others_are_skipped(schema: ModuleSchema) -> None:
    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        stream.push_frame(Frame(Opcode.PING, b"hi"))
        other = {**call, "request_id": call["request_id"] + 1}
        stream.push(transaction_update(other, stream.connection_id, {"Failed": "not yours"}))
        stream.push(transaction_update(call, 99, {"Failed": "another connection's"}))
        commit(stream, call)

    server = Server(reply)
    with connection(schema, server) as conn:
        event = conn.call_reducer("update_config", "k", "v", None)
    assert event.status is ReducerStatus.COMMITTED
    pongs = [frame for frame in server.stream.received if frame.opcode is Opcode.PONG]
    assert [pong.data for pong in pongs] == [b"hi"]


def test_a_message_in_several_frames_is_joined(schema: ModuleSchema) -> None:
    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        text = json.dumps(
            transaction_update(call, stream.connection_id, {"Committed": {"tables": []}})
        ).encode()
        stream.push_frame(Frame(Opcode.TEXT, text[:10], fin=False))
        stream.push_frame(Frame(Opcode.PING, b""))  # control frames may come in between
        stream.push_frame(Frame(Opcode.CONT, text[10:20], fin=False))
        stream.push_frame(Frame(Opcode.CONT, text[20:]))

    with connection(schema, Server(reply, chunk=7)) as conn:
        assert conn.call_reducer("update_config", "k", "v", None).status is ReducerStatus.COMMITTED


def test_a_refused_call_raises_and_the_connection_goes_on(schema: ModuleSchema) -> None:
    refusals = iter([True, False])

    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        if next(refusals):  # a 1.2.0 server reports a failure with request id 0
            failed = {**call, "request_id": 0}
            stream.push(transaction_update(failed, stream.connection_id, {"Failed": "bad: no"}))
        else:
            commit(stream, call)

    server = Server(reply)
    with connection(schema, server) as conn:
        with pytest.raises(ReducerFailedError, match="bad: no"):
            conn.call_reducer("update_config", "k", "v", None)
        assert conn.call_reducer("update_config", "k", "v", None).status is ReducerStatus.COMMITTED
    assert len(server.streams) == 1


def test_a_drop_while_waiting_leaves_the_outcome_unknown_and_connect_opens_again(
    schema: ModuleSchema,
) -> None:
    answer = [False]

    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        if answer[0]:
            commit(stream, call)
        else:
            stream.end()

    server = Server(reply)
    conn = connection(schema, server)
    conn.connect()
    with pytest.raises(OutcomeUnknownError, match="may or may not have committed"):
        conn.call_reducer("update_config", "k", "v", None)
    assert not conn.is_connected
    assert server.stream.closed
    with pytest.raises(SpacetimeConnectionError, match="nothing was sent"):
        conn.call_reducer("update_config", "k", "v", None)
    answer[0] = True
    conn.connect()
    assert conn.call_reducer("update_config", "k", "v", None).status is ReducerStatus.COMMITTED
    assert len(server.streams) == 2
    conn.close()


def test_a_close_frame_while_waiting_leaves_the_outcome_unknown(schema: ModuleSchema) -> None:
    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        stream.server.send_close(1011, "going away")
        stream._take_output()

    server = Server(reply)
    with connection(schema, server) as conn:
        with pytest.raises(OutcomeUnknownError, match="1011"):
            conn.call_reducer("update_config", "k", "v", None)
        assert not conn.is_connected
    assert [frame.opcode for frame in server.stream.received][-1] is Opcode.CLOSE


def test_an_answer_over_max_message_bytes_leaves_the_outcome_unknown(
    schema: ModuleSchema,
) -> None:
    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        stream.push(
            transaction_update(call, stream.connection_id, {"Failed": "x" * 10_000}),
        )

    with connection(schema, Server(reply), max_message_bytes=5_000) as conn:
        with pytest.raises(OutcomeUnknownError, match="max_message_bytes"):
            conn.call_reducer("update_config", "k", "v", None)
        assert not conn.is_connected


def test_a_call_whose_answer_could_not_fit_is_refused_unsent(schema: ModuleSchema) -> None:
    server = Server()
    with connection(schema, server, max_message_bytes=2_000) as conn:
        with pytest.raises(AnswerTooLargeError):
            conn.call_reducer("update_config", "k", "v" * 5_000, None)
        assert conn.is_connected
    assert server.stream.calls == []


def test_no_answer_within_the_timeout_raises_call_timeout_and_drops(
    schema: ModuleSchema,
) -> None:
    server = Server(lambda stream, call: None)
    with connection(schema, server) as conn:
        with pytest.raises(CallTimeoutError):
            conn.call_reducer("update_config", "k", "v", None, timeout=0.05)
        assert not conn.is_connected


def test_close_from_another_thread_wakes_a_waiting_call(schema: ModuleSchema) -> None:
    server = Server(lambda stream, call: None)
    conn = connection(schema, server, call_timeout=None)
    conn.connect()
    raised: list[BaseException] = []

    def call() -> None:
        try:
            conn.call_reducer("update_config", "k", "v", None)
        except BaseException as error:
            raised.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert server.stream.waiting.wait(10)
    conn.close()
    caller.join(10)
    assert not caller.is_alive()
    assert len(raised) == 1
    assert isinstance(raised[0], OutcomeUnknownError)
    with pytest.raises(SpacetimeConnectionError, match="closed"):
        conn.call_reducer("update_config", "k", "v", None)
    with pytest.raises(SpacetimeConnectionError, match="closed"):
        conn.connect()


def test_a_ping_between_calls_is_answered_before_the_next_call(schema: ModuleSchema) -> None:
    server = Server()
    with connection(schema, server) as conn:
        conn.call_reducer("update_config", "k", "v", None)
        server.stream.push_frame(Frame(Opcode.PING, b"idle"))
        conn.call_reducer("update_config", "k", "w", None)
    kinds = [(frame.opcode, frame.data[:4]) for frame in server.stream.received]
    assert kinds[1] == (Opcode.PONG, b"idle")
    assert kinds[2][0] is Opcode.TEXT


def test_a_drop_between_calls_is_noticed_before_sending(schema: ModuleSchema) -> None:
    server = Server()
    with connection(schema, server) as conn:
        conn.call_reducer("update_config", "k", "v", None)
        server.stream.end()
        with pytest.raises(SpacetimeConnectionError, match="nothing was sent") as raised:
            conn.call_reducer("update_config", "k", "w", None)
        assert not isinstance(raised.value, OutcomeUnknownError)
    assert len(server.stream.calls) == 1


def test_a_second_identity_token_is_a_protocol_error(schema: ModuleSchema) -> None:
    def reply(stream: FakeStream, call: dict[str, Any]) -> None:
        stream.push(identity_token(stream.connection_id))

    with connection(schema, Server(reply)) as conn:
        with pytest.raises(ProtocolError, match="second IdentityToken"):
            conn.call_reducer("update_config", "k", "v", None)
        assert not conn.is_connected


def test_a_connection_closed_before_its_identity_is_refused_by_the_module(
    schema: ModuleSchema,
) -> None:
    server = Server()
    server.greet = False
    conn = connection(schema, server, connect_timeout=5)
    with pytest.raises(ConnectionRefusedByModuleError, match="asking why over HTTP failed"):
        conn.connect()
    assert not conn.is_connected
    assert server.stream.closed


def test_a_close_that_races_a_send_says_the_connection_was_closed(schema: ModuleSchema) -> None:
    """`close` from another thread while a call's frame is being sent: the caller's error says
    the connection was closed (not a broken pipe), nothing sent."""
    server = Server()
    conn = connection(schema, server)
    conn.connect()
    stream = server.stream
    closing = threading.Thread(target=conn.close)
    send = stream.sendall

    def sendall_while_closing(data: bytes, /) -> None:
        closing.start()
        assert stream.shut.wait(10)  # close() shut the socket down; the send then fails
        send(data)

    stream.sendall = sendall_while_closing  # type: ignore[method-assign]
    with pytest.raises(SpacetimeConnectionError, match="was closed; nothing was sent"):
        conn.call_reducer("update_config", "k", "v", None)
    closing.join(10)
    assert not closing.is_alive()
    assert stream.calls == []
