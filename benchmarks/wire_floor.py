"""The floor of a reducer call's round trip: what SpacetimeDB and the loopback socket cost, with
the client's Python taken out.

`RawWebSocket` opens a WebSocket to a database the way the client's `BlockingConnection` does
(``websockets``' sans-I/O handshake, the codec's subprotocol, the token) and then only moves
bytes: a call goes out as a frame made before the clock starts (`client_frame`, masked with a
fresh random key by ``websockets``), and its answer comes back as the frame's payload, not
decoded. Whatever a client adds per call (encoding, framing, decoding, its locks and socket
modes) is absent, so no client of this server on this machine waits less for a stored call.
"""

from __future__ import annotations

import socket
import struct
from typing import Self

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from nerv_inner_universe.client import Codec
from nerv_inner_universe.client.blocking import RECEIVE_BYTES, open_stream
from nerv_inner_universe.client.protocol import IdentityToken
from nerv_inner_universe.client.token_store import bearer_header
from nerv_inner_universe.client.wire import subscribe_url

CONNECT_SECONDS = 30.0
"""How long opening the WebSocket may take."""
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_TEXT, _BINARY, _PING, _PONG = 0x81, 0x82, 0x89, 0x8A
"""First header bytes of whole (FIN) frames of each kind a server sends unfragmented."""


class WireError(Exception):
    """The server answered with something other than one whole data frame."""


def client_frame(message: str | bytes) -> bytes:
    """``message`` (a codec's frame: text for JSON, bytes for BSATN) as the bytes of one masked
    WebSocket frame, as a client must send it."""
    if isinstance(message, str):
        return Frame(Opcode.TEXT, message.encode()).serialize(mask=True)
    return Frame(Opcode.BINARY, message).serialize(mask=True)


class RawWebSocket:
    """One open WebSocket to a database: `send` writes bytes as they are, `receive` gives the
    next server frame's payload. Use it with ``with``."""

    def __init__(self, stream: socket.socket) -> None:
        self._stream = stream
        self._buffer = bytearray()

    @classmethod
    def open(cls, base_url: str, database: str, codec: Codec, token: str | None) -> Self:
        """A WebSocket to ``database`` at ``base_url`` speaking ``codec``'s subprotocol, past the
        server's first message (the `IdentityToken`). WireError when the server does not
        accept it; OSError when it cannot be reached."""
        uri = parse_uri(subscribe_url(base_url, database, codec))
        stream = open_stream(uri.host, uri.port, uri.secure, CONNECT_SECONDS)
        if not isinstance(stream, socket.socket):
            raise WireError("the wire floor needs a plain TCP socket (no TLS)")
        protocol = ClientProtocol(uri, subprotocols=[Subprotocol(codec.subprotocol)])
        request = protocol.connect()
        if token:
            request.headers.update(bearer_header(token, "RawWebSocket.open"))
        protocol.send_request(request)
        stream.sendall(b"".join(protocol.data_to_send()))
        frames: list[Frame] = []
        while not frames:
            data = stream.recv(RECEIVE_BYTES)
            if not data:
                raise WireError("the server closed the connection during the handshake")
            protocol.receive_data(data)
            frames = [event for event in protocol.events_received() if isinstance(event, Frame)]
        if protocol.handshake_exc is not None:
            raise WireError(f"the server refused the WebSocket: {protocol.handshake_exc}")
        data = bytes(frames[0].data)
        first = codec.decode_message(data.decode() if frames[0].opcode is Opcode.TEXT else data)
        if len(frames) > 1 or not isinstance(first, IdentityToken):
            raise WireError(f"expected one IdentityToken first, got {type(first).__name__}")
        stream.settimeout(None)
        return cls(stream)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()

    def send(self, frame: bytes) -> None:
        """Writes ``frame`` (see `client_frame`) as it is."""
        self._stream.sendall(frame)

    def receive(self) -> str | bytes:
        """The server's next message, undecoded (a text frame's as str), which must come in one
        whole frame (a server's frames are not masked); WireError otherwise or at the end."""
        while True:
            frame = self._frame()
            while frame is None:
                data = self._stream.recv(RECEIVE_BYTES)
                if not data:
                    raise WireError("the server closed the connection")
                self._buffer += data
                frame = self._frame()
            header, payload = frame
            if header in (_TEXT, _BINARY):
                return payload.decode() if header == _TEXT else payload
            if header == _PING:  # the server's keep-alive: answered, as a client must
                self.send(Frame(Opcode.PONG, payload).serialize(mask=True))
            elif header != _PONG:
                raise WireError(f"expected one whole data frame, got header {header:#x}")

    def _frame(self) -> tuple[int, bytes] | None:
        """The first header byte and the payload of the buffered frame, taken out of the
        buffer; None until the whole frame is in."""
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        size, start = buffer[1] & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                return None
            size, start = _U16.unpack_from(buffer, 2)[0], 4
        elif size == 127:
            if len(buffer) < 10:
                return None
            size, start = _U64.unpack_from(buffer, 2)[0], 10
        if len(buffer) < start + size:
            return None
        frame = buffer[0], bytes(buffer[start : start + size])
        del buffer[: start + size]
        return frame
