"""`SpacetimeHttp`'s error mapping, through an `httpx.MockTransport` (no server). The real
server's answers: tests/integration/client/test_http.py."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from nerv_inner_universe.client import (
    HttpError,
    NotFoundError,
    ReducerFailedError,
    RequestTooLargeError,
    SpacetimeConnectionError,
    SpacetimeHttp,
)
from nerv_inner_universe.client import http as http_module
from tests.unit.client.conftest import recorded_messages, recorded_schema_json

Handler = Callable[[httpx.Request], httpx.Response]


TOKEN = "the-token"


def client(handler: Handler) -> SpacetimeHttp:
    return SpacetimeHttp("http://fake.invalid", token=TOKEN, transport=httpx.MockTransport(handler))


async def test_401_is_an_http_error_with_the_status_and_the_body() -> None:
    async with client(lambda request: httpx.Response(401, text="invalid token")) as http:
        with pytest.raises(HttpError) as caught:
            await http.sql("db", "SELECT * FROM entity")
    error = caught.value
    assert not isinstance(error, NotFoundError)
    assert (error.method, error.status, error.body) == ("POST", 401, "invalid token")
    assert error.url == "http://fake.invalid/v1/database/db/sql"
    assert "answered 401: invalid token" in str(error)


async def test_404_is_not_found() -> None:
    async with client(lambda request: httpx.Response(404, text="")) as http:
        with pytest.raises(NotFoundError, match=r"answered 404: \(empty body\)") as caught:
            await http.database_info("missing")
    assert caught.value.status == 404


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_an_http_error(status: int) -> None:
    async with client(lambda request: httpx.Response(status, text="overloaded")) as http:
        with pytest.raises(HttpError) as caught:
            await http.schema("db")
    assert caught.value.status == status
    assert caught.value.body == "overloaded"


async def test_a_failed_reducer_is_its_own_error_not_a_5xx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/schema"):
            return httpx.Response(200, json=recorded_schema_json())
        return httpx.Response(530, text="not_found: entity zz does not exist")

    async with client(handler) as http:
        with pytest.raises(ReducerFailedError, match="entity zz does not exist"):
            await http.call_reducer("db", "delete_entity", ["zz"])


async def test_connection_refused_is_a_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with client(refuse) as http:
        with pytest.raises(SpacetimeConnectionError, match="Connection refused") as caught:
            await http.health()
    assert "GET http://fake.invalid/v1/health" in str(caught.value)


async def test_the_token_goes_only_where_it_is_needed() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/v1/health":
            return httpx.Response(200, json={"version": "1.2.0"})
        return httpx.Response(200, json=recorded_messages()["sql_entity"])

    async with client(handler) as http:
        assert (await http.health())["version"] == "1.2.0"
        [result] = await http.sql("db", "SELECT * FROM entity")
    assert result.rows, "the recorded answer holds rows"
    assert seen == [
        ("/v1/health", None),
        ("/v1/database/db/sql", f"Bearer {TOKEN}"),
    ]


def test_a_413_answer_is_a_request_too_large_error_saying_to_use_the_websocket() -> None:
    request = httpx.Request("POST", "http://h/v1/database/d/call/r", content=b"x" * 10)
    error = http_module._status_error(httpx.Response(413, request=request, text="too big"))
    assert isinstance(error, RequestTooLargeError)
    assert (error.size, error.limit) == (10, None)
    assert str(error) == (
        "POST http://h/v1/database/d/call/r: the request body is 10 bytes, over the server's "
        "HTTP request limit; send it over the WebSocket connection (DbConnection) instead"
    )
