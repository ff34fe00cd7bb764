"""The floor of a reducer call's round trip: what SpacetimeDB and the loopback socket cost, with
the client's Python taken out.

`RawWebSocket` opens a WebSocket to a database the way the client's `BlockingConnection` does
(``websockets``' sans-I/O handshake, the codec's subprotocol, the token) and then only moves
bytes: a call goes out as a frame made before the clock starts (`client_frame`, masked with a
fresh random key by ``websockets``), and its answer comes back as the frame's payload, not
decoded. What a client adds per call (encoding, framing, decoding, its locks and socket
modes) is absent; what is left on the client is the socket's system calls and a few lines of
framing, so a client of this server on this machine can wait little less for a stored call.
"""

from __future__ import annotations

import struct
from typing import Self

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from nerv_inner_universe.client import Codec
from nerv_inner_universe.client.blocking import RECEIVE_BYTES, Stream, StreamFactory, open_stream
from nerv_inner_universe.client.protocol import IdentityToken
from nerv_inner_universe.client.token_store import bearer_header
from nerv_inner_universe.client.wire import subscribe_url

CALL_SECONDS = 120.0
"""How long opening the WebSocket, and then any one read, may wait (as `compare.py`'s client
calls): a server that stops answering fails the run instead of hanging it."""
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

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    @classmethod
    def open(
        cls,
        base_url: str,
        database: str,
        codec: Codec,
        token: str | None,
        connect: StreamFactory = open_stream,
    ) -> Self:
        """A WebSocket to ``database`` at ``base_url`` (``http://``) speaking ``codec``'s
        subprotocol, over the stream ``connect`` opens (a test's fake; by default a TCP
        socket), past the server's first message (the `IdentityToken`). ``websockets``
        checks the server's answer to the handshake; every frame after it is read here.
        WireError when the server does not accept it, OSError (TimeoutError) when it cannot
        be reached or does not answer within `CALL_SECONDS`."""
        uri = parse_uri(subscribe_url(base_url, database, codec))
        if uri.secure:
            raise WireError("the wire floor is for a local server over plain TCP, not TLS")
        protocol = ClientProtocol(uri, subprotocols=[Subprotocol(codec.subprotocol)])
        request = protocol.connect()
        if token:
            request.headers.update(bearer_header(token, "RawWebSocket.open"))
        protocol.send_request(request)
        stream = connect(uri.host, uri.port, False, CALL_SECONDS)
        wire = cls(stream)
        try:
            stream.sendall(b"".join(protocol.data_to_send()))
            wire._accepted(protocol, codec)
        except BaseException:
            stream.close()
            raise
        return wire

    def _accepted(self, protocol: ClientProtocol, codec: Codec) -> None:
        """Reads the server's answer to the handshake (checked by ``protocol``) and its first
        message; WireError unless they accept the WebSocket and give an `IdentityToken`."""
        head = self._read_until(b"\r\n\r\n")  # frames may follow in the same read
        if not head.startswith(b"HTTP/1.1 101 "):
            raise WireError(f"the server refused the WebSocket: {head.splitlines()[0]!r}")
        protocol.receive_data(head)
        protocol.events_received()
        if protocol.handshake_exc is not None or protocol.state is not State.OPEN:
            raise WireError(f"the server's handshake failed: {protocol.handshake_exc}")
        first = codec.decode_message(self.receive())
        if not isinstance(first, IdentityToken):
            raise WireError(f"expected an IdentityToken first, got {type(first).__name__}")

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
                self._fill()
                frame = self._frame()
            header, payload = frame
            if header in (_TEXT, _BINARY):
                return payload.decode() if header == _TEXT else payload
            if header == _PING:  # the server's keep-alive: answered, as a client must
                self.send(Frame(Opcode.PONG, payload).serialize(mask=True))
            elif header != _PONG:
                raise WireError(f"expected one whole data frame, got header {header:#x}")

    def _read_until(self, end: bytes) -> bytes:
        """The stream's bytes up to and including ``end``, taken out of the buffer."""
        while (found := self._buffer.find(end)) < 0:
            self._fill()
        taken = bytes(self._buffer[: found + len(end)])
        del self._buffer[: found + len(end)]
        return taken

    def _fill(self) -> None:
        data = self._stream.recv(RECEIVE_BYTES)
        if not data:
            raise WireError("the server closed the connection")
        self._buffer += data

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
