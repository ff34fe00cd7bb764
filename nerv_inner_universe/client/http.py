"""The HTTP API of a SpacetimeDB 1.x server: identities, publishing, reducer calls, SQL, schema
and logs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import attrs
import httpx

from nerv_inner_universe.shown import shown

from ..log import get_logger
from . import sats_json
from .algebraic import ProductType, parse_product
from .codec import JsonCodec
from .errors import (
    ArgumentError,
    HttpError,
    NotFoundError,
    OutOfEnergyError,
    ProtocolError,
    QueryError,
    ReducerFailedError,
    RequestTooLargeError,
    SpacetimeConnectionError,
)
from .numbers import ascii_int
from .quiet_secrets import protect
from .registry import TypeRegistry
from .schema import ModuleSchema
from .token_store import bearer_header
from .typed import TypeContext
from .values import Identity, TimeDuration, Timestamp

log = get_logger(__name__)

MAX_HTTP_BODY_BYTES = 2_097_152
"""spacetimedb-standalone 1.2.0 reads at most 2 MiB of a request body (axum's default body
limit; only publishing a module is exempt): a larger reducer call or SQL query is refused with
`RequestTooLargeError` before it is sent."""
_REDUCER_FAILED = 530
_BUDGET_EXCEEDED = 402
_NO_CONTEXT = TypeContext()


@attrs.frozen
class Credentials:
    """A new identity and the token that proves it (``create_identity``)."""

    identity: Identity
    token: str = attrs.field(repr=False)
    """A bearer token (JWT) proving the identity: keep it secret, keep it to come back as the
    same identity (a database's owner is the identity that published it)."""


@attrs.frozen
class PublishResult:
    """What ``publish`` did: the database's identity, ``op`` and its domain name if any."""

    database_identity: Identity
    op: str
    """``created`` or ``updated``."""
    domain: str | None


@attrs.frozen
class DatabaseInfo:
    """A database's identity, its owner and what hosts it (``Wasm``)."""

    database_identity: Identity
    owner_identity: Identity
    host_type: str
    initial_program: str
    """Hash of the first module published, as hex."""


@attrs.frozen
class HttpCallResult:
    """What a reducer call over HTTP cost: energy quanta and execution time, when the server
    said."""

    energy_quanta_used: int | None
    duration: TimeDuration | None


@attrs.frozen
class SqlResult:
    """One statement's result; rows are decoded with the column types the server sent."""

    schema: ProductType
    rows: tuple[Any, ...]
    total_duration: TimeDuration
    rows_inserted: int
    rows_deleted: int
    rows_updated: int

    @property
    def column_names(self) -> tuple[str | None, ...]:
        """The result's column names, in order."""
        return self.schema.field_names


@attrs.frozen
class LogRecord:
    """One line of a module's log: level (``Info``...), time, text and where it was logged."""

    level: str
    timestamp: Timestamp
    message: str
    target: str | None = None
    filename: str | None = None
    line_number: int | None = None


class SpacetimeHttp:
    """An async client of one server. Without a token, calls that need one (publishing,
    deleting, logs) first create an identity and keep its token in ``self.token``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        types: TypeRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``token``: the bearer token to act with (None: create an identity when a call
        needs one); ``timeout``: seconds for each request; ``types`` decodes named types into
        your classes; ``transport`` carries the requests (default: httpx's network
        transport; `httpx.MockTransport` in a test)."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._types = types
        protect(token)  # httpx and httpcore log headers at DEBUG
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport
        )
        self._schemas: dict[str, ModuleSchema] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the HTTP connections; the client is unusable afterwards."""
        await self._client.aclose()

    async def health(self) -> dict[str, Any]:
        """The server's health document (``version`` among it); SpacetimeConnectionError when it
        does not answer."""
        response = await self._request("GET", "/v1/health", auth=False)
        with _parsing(response):
            body: dict[str, Any] = response.json()
            return body

    async def create_identity(self) -> Credentials:
        """A new identity and its token (does not change ``self.token``)."""
        response = await self._request("POST", "/v1/identity", auth=False)
        with _parsing(response):
            body = response.json()
            return Credentials(Identity.from_hex(body["identity"]), body["token"])

    async def ensure_token(self) -> str:
        """The token, creating an identity first when there is none."""
        if self.token is None:
            credentials = await self.create_identity()
            self.token = credentials.token
            log.info("identity_created", identity=credentials.identity.hex)
        return self.token

    async def publish(self, database: str, wasm: bytes, *, clear: bool = False) -> PublishResult:
        """Creates or updates ``database``; ``clear`` deletes its data first (``init`` runs
        again). The caller's identity becomes the owner of a new database."""
        await self.ensure_token()
        response = await self._request(
            "PUT",
            _db(database),
            content=wasm,
            params={"clear": "true"} if clear else None,
        )
        self._schemas.pop(database, None)
        with _parsing(response):
            success = response.json()["Success"]
            result = PublishResult(
                Identity.from_hex(success["database_identity"]),
                success["op"],
                success.get("domain"),
            )
        log.info("module_published", database=database, op=result.op)
        return result

    async def delete(self, database: str) -> None:
        """Deletes ``database`` and all its data (owner only); NotFoundError when it does not
        exist."""
        await self.ensure_token()
        await self._request("DELETE", _db(database))
        self._schemas.pop(database, None)

    async def database_info(self, database: str) -> DatabaseInfo:
        """Who owns ``database`` and what it runs; NotFoundError when it does not exist."""
        response = await self._request("GET", _db(database), auth=False)
        with _parsing(response):
            body = response.json()
            return DatabaseInfo(
                Identity.from_hex(body["database_identity"]["__identity__"]),
                Identity.from_hex(body["owner_identity"]["__identity__"]),
                next(iter(body["host_type"])),
                body["initial_program"],
            )

    async def schema(self, database: str, *, refresh: bool = False) -> ModuleSchema:
        """The module schema (cached per database until a publish through this client)."""
        if refresh or database not in self._schemas:
            response = await self._request(
                "GET", f"{_db(database)}/schema", params={"version": "9"}
            )
            with _parsing(response):
                self._schemas[database] = ModuleSchema.from_json(response.json())
        return self._schemas[database]

    async def call_reducer(
        self, database: str, reducer: str, args: Sequence[object] = ()
    ) -> HttpCallResult:
        """Calls a reducer once; arguments are checked against the schema before sending."""
        schema = await self.schema(database)
        body = JsonCodec(schema, self._types).encode_args(schema.reducer(reducer), args)
        response = await self._request(
            "POST",
            f"{_db(database)}/call/{quote(reducer, safe='')}",
            content=self._within_limit(f"the call of {reducer!r}", body.encode()),
            headers={"Content-Type": "application/json"},
            allow=(_REDUCER_FAILED, _BUDGET_EXCEEDED, 400),
        )
        if response.status_code == _REDUCER_FAILED:
            raise ReducerFailedError(reducer, response.text)
        if response.status_code == _BUDGET_EXCEEDED:
            raise OutOfEnergyError(reducer, response.text)
        if response.status_code == 400:
            raise ArgumentError(f"the server refused the call of {reducer!r}: {response.text}")
        energy = _header_int(response, "spacetime-energy-used")
        micros = _header_int(response, "spacetime-execution-duration-micros")
        return HttpCallResult(energy, None if micros is None else TimeDuration(micros))

    async def connection_refusal(self, database: str) -> str | None:
        """Why the module refuses this identity's connections (its ``client_connected``
        message, e.g. ``resource_exhausted: ...``), or None when it admits them. An HTTP call
        connects first like a WebSocket does, and the server answers a refusal with 403 and the
        message (it closes a refused WebSocket without one). The call names ``client_connected``
        itself, which the server never runs as a call (400), so nothing else runs."""
        response = await self._request(
            "POST",
            f"{_db(database)}/call/client_connected",
            content=b"[]",
            headers={"Content-Type": "application/json"},
            allow=(400, 403, 404),
        )
        return response.text if response.status_code == 403 else None

    async def sql(self, database: str, query: str) -> list[SqlResult]:
        """Runs SQL as this identity (the owner also sees private tables and may write)."""
        response = await self._request(
            "POST",
            f"{_db(database)}/sql",
            content=self._within_limit("the SQL query", query.encode()),
            allow=(400,),
        )
        if response.status_code == 400:
            raise QueryError(query, response.text)
        with _parsing(response):
            return [_sql_result(statement) for statement in response.json()]

    async def logs(self, database: str, num_lines: int | None = None) -> list[LogRecord]:
        """The module's latest log lines (owner only)."""
        await self.ensure_token()
        params = {"num_lines": str(num_lines)} if num_lines is not None else None
        response = await self._request("GET", f"{_db(database)}/logs", params=params)
        return [_log_record(line) for line in response.text.splitlines() if line.strip()]

    async def follow_logs(
        self, database: str, num_lines: int | None = None
    ) -> AsyncGenerator[LogRecord, None]:
        """The latest lines, then every new one as it is written (owner only)."""
        await self.ensure_token()
        params = {"follow": "true"}
        if num_lines is not None:
            params["num_lines"] = str(num_lines)
        request = self._client.build_request(
            "GET", f"{_db(database)}/logs", params=params, headers=self._headers(auth=True)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as error:
            raise SpacetimeConnectionError(f"GET {request.url}: {error}") from error
        try:
            if response.status_code != 200:
                await response.aread()
                raise _status_error(response)
            async for line in response.aiter_lines():
                if line.strip():
                    yield _log_record(line)
        finally:
            await response.aclose()

    def _within_limit(self, what: str, body: bytes) -> bytes:
        """``body``, or RequestTooLargeError before sending when the server would refuse it
        (it answers 413 after a part, or resets the connection while a larger one is sent)."""
        if len(body) > MAX_HTTP_BODY_BYTES:
            raise RequestTooLargeError(f"{what} to {self.base_url}", len(body), MAX_HTTP_BODY_BYTES)
        return body

    def _headers(self, *, auth: bool) -> dict[str, str]:
        return bearer_header(self.token, "SpacetimeHttp.token") if auth and self.token else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        allow: tuple[int, ...] = (),
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = await self._client.request(
                method, path, headers={**self._headers(auth=auth), **(headers or {})}, **kwargs
            )
        except httpx.TransportError as error:
            raise SpacetimeConnectionError(f"{method} {self.base_url}{path}: {error}") from error
        if response.is_success or response.status_code in allow:
            return response
        raise _status_error(response)


def _header_int(response: httpx.Response, name: str) -> int | None:
    """A header of ASCII digits (u128 at most) as an int; None when absent."""
    text = response.headers.get(name)
    if not text:
        return None
    number = ascii_int(text, 39)
    if number is None:
        raise ProtocolError(f"header {name} is {shown(text)}, not a decimal number")
    return number


def _db(database: str) -> str:
    return f"/v1/database/{quote(database, safe='')}"


def _status_error(response: httpx.Response) -> HttpError | RequestTooLargeError:
    if response.status_code == 413:  # a server with a lower limit than MAX_HTTP_BODY_BYTES
        request = response.request
        size = len(request.content)
        return RequestTooLargeError(f"{request.method} {request.url}", size, None)
    cls = NotFoundError if response.status_code == 404 else HttpError
    return cls(
        response.request.method, str(response.request.url), response.status_code, response.text
    )


@contextlib.contextmanager
def _parsing(response: httpx.Response) -> Iterator[None]:
    """Turns a response of an unexpected shape into a ProtocolError that shows it."""
    try:
        yield
    except (ValueError, KeyError, TypeError, StopIteration) as error:
        raise ProtocolError(
            f"{response.request.method} {response.request.url} answered an unexpected body "
            f"({type(error).__name__}: {error}): {response.text[:300]!r}"
        ) from None


def _sql_result(statement: Mapping[str, Any]) -> SqlResult:
    columns = parse_product(statement["schema"], "sql schema")
    stats = statement.get("stats", {})
    return SqlResult(
        columns,
        tuple(
            sats_json.decode(columns, row, _NO_CONTEXT, f"row {i}")
            for i, row in enumerate(statement["rows"])
        ),
        TimeDuration(statement["total_duration_micros"]),
        stats.get("rows_inserted", 0),
        stats.get("rows_deleted", 0),
        stats.get("rows_updated", 0),
    )


def _log_record(line: str) -> LogRecord:
    try:
        record = json.loads(line)
        return LogRecord(
            level=record["level"],
            timestamp=Timestamp(record["ts"]),
            message=record.get("message", ""),
            target=record.get("target"),
            filename=record.get("filename"),
            line_number=record.get("line_number"),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ProtocolError(f"unreadable log line {line[:200]!r}: {error}") from None
