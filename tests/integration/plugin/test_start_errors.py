"""What a start meets when the server is away (issue 9, F3): connecting and replay's reads
retry connection trouble within ``retry_for``, then raise the plugin's typed
PersistenceError chained from the client's error, never the client's error itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from nerv_inner_universe.client import SpacetimeConnectionError
from nerv_inner_universe.plugin import InnerUniverseRecorder, PersistenceError, PluginSettings
from tests.integration.http_api import Database

DEADLINE = 120.0


def test_a_start_against_a_stopped_server_raises_persistence_error(
    isolated_inner_universe: Database,
) -> None:
    db = isolated_inner_universe
    db.server.stop()
    settings = PluginSettings(url=db.base_url, database=db.name, token=db.token, retry_for=0.5)
    with pytest.raises(PersistenceError, match=r"could not be reached within 0 s") as failed:
        InnerUniverseRecorder(settings)
    assert isinstance(failed.value.__cause__, SpacetimeConnectionError)


def test_a_read_while_the_server_restarts_is_retried_until_it_is_back(
    isolated_inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    db = isolated_inner_universe
    recorder = recorder_for(db, retry_for=DEADLINE)
    connection = recorder._connection
    query = connection.one_off_query
    failed_once = threading.Event()

    async def observed(*args: Any, **kwargs: Any) -> Any:
        try:
            return await query(*args, **kwargs)
        except SpacetimeConnectionError:
            failed_once.set()
            raise

    connection.one_off_query = observed  # type: ignore[method-assign]
    db.server.stop()
    names: list[list[str]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            names.append(recorder.timeline_names())
        except BaseException as error:  # the test reports it
            errors.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert failed_once.wait(DEADLINE), "the read never met the stopped server"
    db.server.start()
    reader.join(DEADLINE)
    assert not reader.is_alive(), "the read did not finish once the server was back"
    assert not errors, errors
    assert names == [[]]
