"""The controller's errors for the client's: each says what to do (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerv_inner_universe.client import (
    HttpError,
    NotFoundError,
    ProtocolError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from nerv_inner_universe.controller import (
    AuthenticationError,
    ControllerError,
    ModuleUpdateRejectedError,
    NotDeployedError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.translation import Place, translated

URL = "http://127.0.0.1:3000"
LOCAL = Place("inner-universe", URL, Path("/data/owner.token"), Path("/data/keys"))
REMOTE = Place("inner-universe", URL, Path("/home/me/tokens/x.token"), None)


def translate(error: SpacetimeError, place: Place = LOCAL) -> ControllerError:
    with pytest.raises(ControllerError) as caught, translated("doing it", place):
        raise error
    assert caught.value.__cause__ is error
    return caught.value


def http(status: int, body: str) -> HttpError:
    return HttpError("POST", f"{URL}/v1/database/inner-universe", status, body)


def test_a_missing_database_says_deploy_first() -> None:
    error = translate(NotFoundError("GET", URL, 404, ""))
    assert isinstance(error, NotDeployedError)
    assert str(error) == (
        f"doing it: database 'inner-universe' does not exist at {URL}; deploy it first "
        "(`inner-universe deploy`)"
    )


def test_a_refused_token_names_its_file_and_for_local_data_the_keys() -> None:
    local = translate(http(401, "bad signature"))
    assert isinstance(local, AuthenticationError)
    assert "refused the token in /data/owner.token (HTTP 401: bad signature)" in str(local)
    assert "with the keys it came from (/data/keys)" in str(local)
    remote = translate(http(401, "bad signature"), REMOTE)
    assert "/home/me/tokens/x.token" in str(remote)
    assert "keys it came from" not in str(remote), "a remote server's keys are not ours"


def test_another_owner_is_an_authentication_error() -> None:
    error = translate(http(403, "Identity does not own database"))
    assert isinstance(error, AuthenticationError)
    assert "belongs to another identity than the token in /data/owner.token" in str(error)


def test_a_refused_migration_points_to_wipe_and_backup() -> None:
    error = translate(http(400, "Database update rejected: incompatible schema"))
    assert isinstance(error, ModuleUpdateRejectedError)
    assert "`inner-universe deploy --wipe`" in str(error)
    assert "`inner-universe backup FILE`" in str(error)


def test_other_statuses_and_errors_keep_their_text() -> None:
    server_error = translate(http(503, "overloaded"))
    assert type(server_error) is ControllerError
    assert str(server_error).startswith("doing it: POST ")
    assert "answered 503: overloaded" in str(server_error)
    unreachable = translate(SpacetimeConnectionError("connection refused"))
    assert isinstance(unreachable, ServerUnreachableError)
    assert str(unreachable) == f"doing it: no answer from {URL}: connection refused"
    protocol = translate(ProtocolError("odd body"))
    assert str(protocol) == "doing it: odd body"


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), translated("doing it", LOCAL):
        raise KeyError("not a client error")
