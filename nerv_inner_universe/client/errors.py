"""Errors of the SpacetimeDB client: one base class, a subclass per thing a caller can act on."""

from __future__ import annotations


class SpacetimeError(Exception):
    """Base of every error this client raises."""


class SpacetimeConnectionError(SpacetimeError):
    """The server could not be reached or the connection is gone; nothing was sent or the
    request is safe to repeat."""


class MessageTooLargeError(SpacetimeConnectionError):
    """The server sent a message larger than the connection's ``max_message_bytes``; the client
    closed the connection (WebSocket code 1009) and reconnects. Queries that were waiting fail
    with this error: ask for less (fewer rows) or connect with a larger limit."""

    def __init__(self, limit: int | None) -> None:
        super().__init__(
            f"the server sent a message over the client's limit of {limit} bytes "
            "(max_message_bytes); the connection was closed; ask for fewer rows"
        )
        self.limit = limit


class ConnectionRefusedByModuleError(SpacetimeConnectionError):
    """The module's ``client_connected`` reducer refused the connection. SpacetimeDB 1.2.0
    then closes the WebSocket without a close frame or a reason; the client asks again over
    HTTP, where a refusal is answered 403 with the module's message: ``reason`` (None when that
    second attempt was admitted, e.g. a place became free meanwhile)."""

    def __init__(self, url: str, reason: str | None) -> None:
        why = (
            f": {reason.strip()}"
            if reason
            else " (it gave no reason; an HTTP call as the same identity was admitted just after)"
        )
        super().__init__(
            f"{url}: the connection was refused by the module's client_connected reducer{why}"
        )
        self.url = url
        self.reason = reason


class OutcomeUnknownError(SpacetimeConnectionError):
    """A reducer call was sent but its result never arrived: it may or may not have committed.
    Check the database (a subscription or SQL) before calling again."""

    def __init__(self, reducer: str, request_id: int, reason: str) -> None:
        super().__init__(
            f"reducer {reducer!r} (request {request_id}) was sent but {reason}; it may or may "
            "not have committed: check the database before calling it again"
        )
        self.reducer = reducer
        self.request_id = request_id


class CallTimeoutError(OutcomeUnknownError):
    """No result within the call's timeout; the call may still commit later."""

    def __init__(self, reducer: str, request_id: int, timeout: float) -> None:
        super().__init__(reducer, request_id, f"no result arrived within {timeout:g} s")
        self.timeout = timeout


class ReducerFailedError(SpacetimeError):
    """The reducer ran and returned an error (or panicked); its transaction was rolled back."""

    def __init__(self, reducer: str, message: str) -> None:
        super().__init__(f"reducer {reducer!r} failed: {message}")
        self.reducer = reducer
        self.reducer_message = message


class OutOfEnergyError(SpacetimeError):
    """The reducer ran out of energy (its time budget); its transaction was rolled back."""

    def __init__(
        self, reducer: str, message: str = "the module's energy budget is exhausted"
    ) -> None:
        super().__init__(f"reducer {reducer!r} ran out of energy: {message}")
        self.reducer = reducer


class ArgumentError(SpacetimeError, ValueError):
    """Arguments or a message do not fit the module's schema or the server's limits; nothing
    was sent (or the server refused them before running anything)."""


class RequestTooLargeError(ArgumentError):
    """An HTTP request body over the server's limit (`MAX_HTTP_BODY_BYTES`, 2 MiB for a reducer
    call or SQL on spacetimedb-standalone 1.2.0); nothing was run. Send the call over the
    WebSocket connection (`DbConnection`), whose messages have no such limit."""

    def __init__(self, what: str, size: int, limit: int | None) -> None:
        of = "" if limit is None else f" of {limit} bytes"
        super().__init__(
            f"{what}: the request body is {size} bytes, over the server's HTTP request "
            f"limit{of}; send it over the WebSocket connection (DbConnection) instead"
        )
        self.size = size
        self.limit = limit


class AnswerTooLargeError(RequestTooLargeError):
    """A reducer call whose answer could never arrive: the server's answer to the caller
    echoes the call's arguments, so arguments of ``size`` bytes (the call's frame) plus the
    answer's envelope (`protocol.ANSWER_ENVELOPE_BYTES`) are over the connection's
    ``max_message_bytes`` (``limit``), and the connection would drop with the outcome
    unknown, every time it is sent. Nothing was sent. Send less, or connect with a larger
    ``max_message_bytes``."""

    def __init__(self, reducer: str, size: int, limit: int) -> None:
        ArgumentError.__init__(
            self,
            f"reducer {reducer!r}: its arguments are {size} bytes; the server's answer echoes "
            "them, and with its envelope that is over the "
            f"client's message limit of {limit} bytes (max_message_bytes), so the answer could "
            "never arrive; nothing was sent: raise max_message_bytes or send less",
        )
        self.reducer = reducer
        self.size = size
        self.limit = limit


class SchemaError(SpacetimeError):
    """The module schema is malformed, or names a table, reducer or type that does not exist."""


class QueryError(SpacetimeError):
    """The server refused an SQL query or subscription query."""

    def __init__(self, query: str, message: str) -> None:
        super().__init__(f"query {query!r} was refused: {message}")
        self.query = query
        self.server_message = message


class ProtocolError(SpacetimeError):
    """The server sent something this client cannot understand (a version mismatch or a bug)."""


class TokenStoreError(SpacetimeError):
    """A stored token cannot be read or written safely."""


class HttpError(SpacetimeError):
    """The HTTP API answered with an unexpected status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} answered {status}: {body.strip() or '(empty body)'}")
        self.method = method
        self.url = url
        self.status = status
        self.body = body


class NotFoundError(HttpError):
    """The database (or the reducer) named in the request does not exist (HTTP 404)."""
