"""The database the `eventsourcing` module tests share, and each test's own stores."""

from __future__ import annotations

import uuid

import pytest

from nerv_inner_universe.controller import ServerProcess
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.conftest import publish
from tests.integration.http_api import Database

MODULE = "nerv_inner_universe.eventsourcing_module"


@pytest.fixture(scope="module")
def es_database(server: ServerProcess, machine: SetupResult) -> Database:
    return publish(server, machine.module_wasm)


@pytest.fixture(autouse=True)
def es_environment(es_database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an application's environment holds, with stores of this test's own."""
    monkeypatch.setenv("PERSISTENCE_MODULE", MODULE)
    monkeypatch.setenv("SPACETIMEDB_URL", es_database.base_url)
    monkeypatch.setenv("SPACETIMEDB_DATABASE", es_database.name)
    monkeypatch.setenv("SPACETIMEDB_TOKEN", es_database.token)
    monkeypatch.setenv("SPACETIMEDB_STORE_PREFIX", f"t{uuid.uuid4().hex[:12]}-")
