"""The wire floor's WebSocket reads whole server frames of every length form and answers the
server's pings, over a real socket pair standing in for the server's end."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from websockets.frames import Frame, Opcode

from benchmarks.wire_floor import RawWebSocket, WireError, client_frame

HANG_SECONDS = 30.0
"""Far past what any read here needs (microseconds): only a fault waits that long."""


@pytest.fixture
def ends() -> Iterator[tuple[RawWebSocket, socket.socket]]:
    client, server = socket.socketpair()
    for end in (client, server):  # a fault fails the test instead of hanging it
        end.settimeout(HANG_SECONDS)
    with RawWebSocket(client) as wire, server:
        yield wire, server


def server_frame(opcode: Opcode, payload: bytes) -> bytes:
    return Frame(opcode, payload).serialize(mask=False)


def test_messages_of_each_length_form_arrive_whole_also_split_across_reads(
    ends: tuple[RawWebSocket, socket.socket],
) -> None:
    wire, server = ends
    payloads = [b"x" * 125, b"y" * 126, b"z" * 70_000]  # 7-bit, 16-bit and 64-bit lengths
    stream = b"".join(server_frame(Opcode.BINARY, p) for p in payloads)
    stream += server_frame(Opcode.TEXT, b"{}")

    def send() -> None:  # on its own thread: the stream may not fit the socket's buffer
        server.sendall(stream[:1])  # a header split across reads
        server.sendall(stream[1:])

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert [wire.receive() for _ in payloads] == payloads
        assert wire.receive() == "{}"
    finally:
        sender.join()


def test_a_ping_is_answered_with_its_pong_and_the_next_message_returned(
    ends: tuple[RawWebSocket, socket.socket],
) -> None:
    wire, server = ends
    server.sendall(server_frame(Opcode.PING, b"beat") + server_frame(Opcode.BINARY, b"answer"))
    assert wire.receive() == b"answer"
    pong = server.recv(64)
    assert pong[0] == 0x8A  # FIN, PONG
    assert pong[1] & 0x80  # masked, as a client's frame must be
    mask, body = pong[2:6], pong[6:]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(body)) == b"beat"


@pytest.mark.parametrize(
    "frame",
    [
        server_frame(Opcode.CLOSE, struct.pack(">H", 1000)),
        Frame(Opcode.BINARY, b"part", fin=False).serialize(mask=False),
    ],
    ids=["close", "fragment"],
)
def test_anything_but_a_whole_message_is_refused(
    ends: tuple[RawWebSocket, socket.socket], frame: bytes
) -> None:
    wire, server = ends
    server.sendall(frame)
    with pytest.raises(WireError, match="expected one whole data frame"):
        wire.receive()


def test_the_end_of_the_stream_is_refused(ends: tuple[RawWebSocket, socket.socket]) -> None:
    wire, server = ends
    server.shutdown(socket.SHUT_WR)
    with pytest.raises(WireError, match="closed the connection"):
        wire.receive()


def test_a_client_frame_is_masked_and_keeps_its_kind() -> None:
    binary, text = client_frame(b"\x01\x02"), client_frame("{}")
    assert (binary[0], text[0]) == (0x82, 0x81)
    assert binary[1] == 0x80 | 2  # masked, two bytes
    assert text[1] == 0x80 | 2
