"""A fake SpacetimeDB for `DbConnection`'s unit tests: its HTTP schema endpoint as an
`httpx.MockTransport`, its WebSocket as `FakeSocket`s from a socket factory, and one table
(``config``, keyed by ``key``) with the one reducer that writes it (``update_config``).

It speaks the recorded 1.2.0 JSON protocol (`conftest.recorded_schema_json`); the test
decides when sockets drop, when connecting is refused and when calls are answered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosedError

from nerv_inner_universe.client.websocket import Socket, SocketOptions
from tests.unit.client.conftest import recorded_schema_json

IDENTITY = "0x" + "ab" * 32
CONFIG_TABLE_ID = 4099
_CLOSED = object()


def config_row(key: str, value: str) -> str:
    """One ``config`` row as the server sends it (a JSON text)."""
    return json.dumps(
        {
            "key": key,
            "value": value,
            "description": [1, []],
            "updated_at": {"__timestamp_micros_since_unix_epoch__": 1},
            "updated_by": {"__identity__": IDENTITY},
        }
    )


def _table_update(deletes: list[str], inserts: list[str]) -> dict[str, Any]:
    return {
        "tables": [
            {
                "table_id": CONFIG_TABLE_ID,
                "table_name": "config",
                "num_rows": len(deletes) + len(inserts),
                "updates": [{"deletes": deletes, "inserts": inserts}],
            }
        ]
    }


class FakeSocket:
    """One connection's socket: frames the server queued come out of `recv` and iteration;
    `drop` ends it as a lost connection would."""

    def __init__(self, server: FakeServer, connection_id: int) -> None:
        self.server = server
        self.connection_id = connection_id
        self.incoming: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False
        self.sends_stall = asyncio.Event()
        self.sends_stall.set()

    def push(self, message: dict[str, Any]) -> None:
        self.incoming.put_nowait(json.dumps(message))

    def drop(self) -> None:
        """The connection is lost (the client did not close it)."""
        self.closed = True
        self.incoming.put_nowait(_CLOSED)

    async def send(self, message: str | bytes, /) -> None:
        await self.sends_stall.wait()
        if self.closed:
            raise ConnectionClosedError(None, None)
        self.server.receive(self, json.loads(message))

    async def recv(self) -> str | bytes:
        frame = await self.incoming.get()
        if frame is _CLOSED:
            raise ConnectionClosedError(None, None)
        assert isinstance(frame, str)
        return frame

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[str | bytes]:
        while True:
            yield await self.recv()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.incoming.put_nowait(_CLOSED)


class FakeServer:
    """The database behind the fakes. ``rows`` is the ``config`` table (key -> value);
    ``refusals`` is how many of the next connection attempts fail; with ``hold_calls``,
    reducer calls wait in ``held`` until `answer` commits them."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = dict(rows)
        self.refusals = 0
        self.hold_calls = False
        self.held: list[tuple[FakeSocket, dict[str, Any]]] = []
        self.sockets: list[FakeSocket] = []
        self.subscriptions = 0
        self.attempts = 0

    @property
    def socket(self) -> FakeSocket:
        """The newest socket."""
        return self.sockets[-1]

    def transport(self) -> httpx.MockTransport:
        """The HTTP API: the schema only."""

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/schema"):
                return httpx.Response(200, json=recorded_schema_json())
            return httpx.Response(404, text="not faked")

        return httpx.MockTransport(handle)

    async def connect(self, url: str, options: SocketOptions) -> Socket:
        """The socket factory."""
        self.attempts += 1
        if self.refusals > 0:
            self.refusals -= 1
            raise OSError(111, "Connection refused")
        socket = FakeSocket(self, connection_id=len(self.sockets) + 1)
        self.sockets.append(socket)
        socket.push(identity_token(socket.connection_id))
        return socket

    def receive(self, socket: FakeSocket, message: dict[str, Any]) -> None:
        if "SubscribeMulti" in message:
            body = message["SubscribeMulti"]
            assert body["query_strings"] == ["SELECT * FROM config"]
            self.subscriptions += 1
            rows = [config_row(key, value) for key, value in sorted(self.rows.items())]
            socket.push(
                {
                    "SubscribeMultiApplied": {
                        "request_id": body["request_id"],
                        "total_host_execution_duration_micros": 1,
                        "query_id": body["query_id"],
                        "update": _table_update([], rows),
                    }
                }
            )
        elif "CallReducer" in message:
            call = message["CallReducer"]
            assert call["reducer"] == "update_config"
            if self.hold_calls:
                self.held.append((socket, call))
            else:
                self.commit(socket, call)

    def answer(self, index: int = 0) -> None:
        """Commits the held call ``index`` and tells its socket."""
        socket, call = self.held.pop(index)
        self.commit(socket, call)

    def commit(self, socket: FakeSocket, call: dict[str, Any]) -> None:
        key, value, _ = json.loads(call["args"])
        old = self.rows.get(key)
        self.rows[key] = value
        deletes = [] if old is None else [config_row(key, old)]
        socket.push(
            transaction_update(
                call,
                socket.connection_id,
                {"Committed": _table_update(deletes, [config_row(key, value)])},
            )
        )


def identity_token(connection_id: int) -> dict[str, Any]:
    """The first message on connection ``connection_id``."""
    return {
        "IdentityToken": {
            "identity": {"__identity__": IDENTITY},
            "token": "fake-token",
            "connection_id": {"__connection_id__": connection_id},
        }
    }


def transaction_update(
    call: dict[str, Any], connection_id: int, status: dict[str, Any]
) -> dict[str, Any]:
    """The server's answer to the ``update_config`` call ``call`` (a ``CallReducer`` body) made
    on connection ``connection_id``, ending in ``status`` (``{"Committed": update}``,
    ``{"Failed": message}``)."""
    return {
        "TransactionUpdate": {
            "status": status,
            "timestamp": {"__timestamp_micros_since_unix_epoch__": 2},
            "caller_identity": {"__identity__": IDENTITY},
            "caller_connection_id": {"__connection_id__": connection_id},
            "reducer_call": {
                "reducer_name": "update_config",
                "reducer_id": 14,
                "args": call["args"],
                "request_id": call["request_id"],
            },
            "energy_quanta_used": {"quanta": 0},
            "total_host_execution_duration": {"__time_duration_micros__": 1},
        }
    }
