"""Turns the client's errors into the controller's, each saying what to do about it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import attrs

from nerv_inner_universe.client import (
    HttpError,
    NotFoundError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from nerv_inner_universe.controller.errors import (
    AuthenticationError,
    ControllerError,
    ModuleUpdateRejectedError,
    NotDeployedError,
    ServerUnreachableError,
)


@attrs.frozen
class Place:
    """What a message about the controller's work names: the database, the server's URL,
    the file the token comes from and, for data on this machine, the JWT keys' dir."""

    database: str
    url: str
    token_file: Path
    keys_dir: Path | None
    """None for a remote server (its keys are not ours to name)."""


@contextlib.contextmanager
def translated(action: str, place: Place) -> Iterator[None]:
    """Re-raises a client error (`SpacetimeError`) met while doing ``action`` as the
    `ControllerError` subclass that says what to do: NotDeployedError (404),
    AuthenticationError (401 or another owner), ModuleUpdateRejectedError (a refused
    migration), ServerUnreachableError (no answer), ControllerError otherwise."""
    try:
        yield
    except NotFoundError as error:
        raise NotDeployedError(
            f"{action}: database {place.database!r} does not exist at {place.url}; deploy it "
            "first (`inner-universe deploy`)"
        ) from error
    except HttpError as error:
        raise http_error(action, error, place) from error
    except SpacetimeConnectionError as error:
        raise ServerUnreachableError(f"{action}: no answer from {place.url}: {error}") from error
    except SpacetimeError as error:
        raise ControllerError(f"{action}: {error}") from error


def http_error(action: str, error: HttpError, place: Place) -> ControllerError:
    """The controller's error for an HTTP status the server answered ``action`` with."""
    database, url, body = place.database, place.url, error.body.strip()
    if error.status == 401:
        keys = (
            f"; it only validates with the keys it came from ({place.keys_dir})"
            if place.keys_dir is not None
            else ""
        )
        return AuthenticationError(
            f"{action}: the server at {url} refused the token in {place.token_file} "
            f"(HTTP 401: {body}){keys}. Use the right token, or restore data, keys and token "
            "together from one backup"
        )
    if "does not own database" in body or "Permission denied" in body:
        return AuthenticationError(
            f"{action}: database {database!r} at {url} belongs to another identity than the "
            f"token in {place.token_file} ({body}); use the owner's token or another database "
            "name"
        )
    if error.status == 400 and "Database update rejected" in body:
        return ModuleUpdateRejectedError(
            f"the server refused to update database {database!r} to the new module: {body}. "
            "The database and its data are unchanged. Deploying with the wipe option "
            "(`inner-universe deploy --wipe`) replaces it and DELETES ALL ITS DATA; take a "
            "backup first (`inner-universe backup FILE`)"
        )
    return ControllerError(f"{action}: {error}")
