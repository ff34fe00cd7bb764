"""The wire floor's WebSocket opens past a ping sent with the server's first message and reads
whole server frames of every length form, however the bytes are split across reads, over a
scripted server (``websockets``' own server protocol behind a fake stream)."""

from __future__ import annotations

import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from benchmarks.wire_floor import RawWebSocket, WireError, client_frame
from nerv_inner_universe.client import JsonCodec, ModuleSchema
from tests.unit.client.conftest import recorded_schema_json
from tests.unit.client.fake_server import identity_token

CODEC = JsonCodec(ModuleSchema.from_json(recorded_schema_json()), None)
SPLITS = [1, 2, 3, 7, 1 << 18]
"""Bytes each read gives: every header and payload split at every byte, and all at once."""


class ScriptedServer:
    """A server's end of one connection: answers the handshake, then sends ``first`` frames
    (its identity, and whatever a test adds), and later what `push` is given. Each `recv`
    gives at most ``split`` bytes; with nothing left it gives b"" (the server has gone)."""

    def __init__(self, split: int, first: list[Frame], *, accept: bool = True) -> None:
        self.split = split
        self.first = first
        self.accept = accept
        self.protocol = ServerProtocol(subprotocols=[Subprotocol(CODEC.subprotocol)])
        self.outgoing = bytearray()
        self.received: list[Frame] = []

    def push(self, *frames: Frame) -> None:
        for frame in frames:
            self.protocol.send_frame(frame)
        self._take_output()

    def _take_output(self) -> None:
        for data in self.protocol.data_to_send():
            self.outgoing += data

    def connect(self, host: str, port: int, tls: bool, timeout: float) -> ScriptedServer:
        return self

    def sendall(self, data: bytes, /) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                answer = self.protocol.accept(event) if self.accept else self.refusal()
                self.protocol.send_response(answer)
                self._take_output()
                if self.accept:
                    self.push(*self.first)
            elif isinstance(event, Frame):
                self.received.append(event)
        self._take_output()

    def refusal(self) -> Response:
        return self.protocol.reject(401, "no such token\n")

    def recv(self, size: int, /) -> bytes:
        take = min(size, self.split, len(self.outgoing))
        data = bytes(self.outgoing[:take])
        del self.outgoing[:take]
        return data

    def settimeout(self, timeout: float | None, /) -> None:
        pass

    def shutdown(self, how: int, /) -> None:
        pass

    def close(self) -> None:
        pass


def identity() -> Frame:
    return Frame(Opcode.TEXT, json.dumps(identity_token(7)).encode())


def opened(server: ScriptedServer) -> RawWebSocket:
    return RawWebSocket.open("http://127.0.0.1:3000", "db", CODEC, None, server.connect)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("ping_before", [False, True])
def test_a_ping_with_the_first_message_is_answered_and_the_socket_opens(
    split: int, ping_before: bool
) -> None:
    """SpacetimeDB may send its first keep-alive ping in the same read as the identity."""
    ping = Frame(Opcode.PING, b"beat")
    server = ScriptedServer(split, [ping, identity()] if ping_before else [identity(), ping])
    with opened(server) as wire:
        server.push(Frame(Opcode.BINARY, b"answer"))
        assert wire.receive() == b"answer"
    assert [(f.opcode, bytes(f.data)) for f in server.received] == [(Opcode.PONG, b"beat")]


@pytest.mark.parametrize("split", SPLITS)
def test_messages_of_each_length_form_arrive_whole_however_split(split: int) -> None:
    payloads = [b"x" * 125, b"y" * 126, b"z" * 70_000]  # 7-bit, 16-bit and 64-bit lengths
    server = ScriptedServer(split, [identity()])
    with opened(server) as wire:
        for payload in payloads:
            server.push(Frame(Opcode.PING, b""), Frame(Opcode.BINARY, payload))
        server.push(Frame(Opcode.TEXT, b"{}"))
        assert [wire.receive() for _ in payloads] == payloads
        assert wire.receive() == "{}"
    assert len(server.received) == len(payloads)  # a pong each


@pytest.mark.parametrize(
    "frame",
    [Frame(Opcode.CLOSE, b"\x03\xe8"), Frame(Opcode.BINARY, b"part", fin=False)],
    ids=["close", "fragment"],
)
def test_anything_but_a_whole_message_is_refused(frame: Frame) -> None:
    server = ScriptedServer(1 << 18, [identity()])
    with opened(server) as wire:
        server.push(frame)
        with pytest.raises(WireError, match="expected one whole data frame"):
            wire.receive()


def test_the_end_of_the_stream_is_refused() -> None:
    with (
        opened(ScriptedServer(1 << 18, [identity()])) as wire,
        pytest.raises(WireError, match="closed the connection"),
    ):
        wire.receive()


def test_a_refused_handshake_says_so() -> None:
    with pytest.raises(WireError, match=r"refused the WebSocket: b'HTTP/1\.1 401"):
        opened(ScriptedServer(1 << 18, [identity()], accept=False))


def test_a_first_message_other_than_the_identity_is_refused() -> None:
    server = ScriptedServer(1 << 18, [Frame(Opcode.TEXT, b'{"NoSuchMessage": {}}')])
    with pytest.raises(WireError, match="expected an IdentityToken first, got UnknownMessage"):
        opened(server)


def test_a_secure_server_is_refused_before_connecting() -> None:
    with pytest.raises(WireError, match="not TLS"):
        RawWebSocket.open("https://example.invalid", "db", CODEC, None)


def test_a_client_frame_is_masked_and_keeps_its_kind() -> None:
    binary, text = client_frame(b"\x01\x02"), client_frame("{}")
    assert (binary[0], text[0]) == (0x82, 0x81)
    assert binary[1] == 0x80 | 2  # masked, two bytes
    assert text[1] == 0x80 | 2
