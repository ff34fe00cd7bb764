"""The WebSocket `DbConnection` talks through, and the seam to put something else there.

`DbConnection` uses a socket through the few calls of `Socket` only, and opens it with a
`SocketFactory` (by default `open_websocket`, the `websockets` library): a test passes a
factory returning a fake, and drives the connection without a server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol

import attrs
import websockets
from websockets.typing import Subprotocol

from .quiet_secrets import WEBSOCKETS_LOGGER, protect


class Socket(Protocol):
    """An open WebSocket. Once it is closed, `send` and `recv` raise
    `websockets.exceptions.ConnectionClosed` and iterating it ends (closed cleanly) or raises
    that error (closed with an error)."""

    async def send(self, message: str | bytes, /) -> None:
        """Sends one text (``str``) or binary (``bytes``) frame."""

    async def recv(self) -> str | bytes:
        """The next frame."""

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Frames until the socket closes."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the socket (a WebSocket close code and reason) and waits until it is."""


@attrs.frozen
class SocketOptions:
    """How to open the socket: the subprotocol the codec speaks, the HTTP headers of the
    handshake (authorization), seconds the handshake may take, the largest frame to
    accept in bytes (None: any)."""

    subprotocol: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    """Holds the bearer token: never shown."""
    open_timeout: float
    max_size: int | None


SocketFactory = Callable[[str, SocketOptions], Awaitable[Socket]]
"""``await factory(url, options)`` opens a socket to ``url`` (``ws://`` or ``wss://``);
raises OSError, TimeoutError or a `websockets` error when it cannot."""


async def open_websocket(url: str, options: SocketOptions) -> Socket:
    """The default `SocketFactory`: a `websockets` client connection (no compression), whose
    log records show no token (`quiet_secrets`)."""
    protect(None)
    connection = await websockets.connect(
        url,
        subprotocols=[Subprotocol(options.subprotocol)],
        additional_headers=dict(options.headers),
        open_timeout=options.open_timeout,
        max_size=options.max_size,
        compression=None,
        logger=logging.getLogger(WEBSOCKETS_LOGGER),
    )
    socket: Socket = connection
    return socket
