"""Fixtures that run the REAL server: `spacetimedb-standalone` 1.2.0 and our module built to wasm.

Nothing here skips. If setup cannot provide the server or the module, the fixture raises and
every test that needs it fails with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nerv_inner_universe.controller import ServerProcess, free_port
from nerv_inner_universe.plugin import InnerUniverseRecorder, PluginSettings
from nerv_inner_universe.toolchain import SetupResult, setup
from tests.integration.http_api import Database


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the server: mark it so `-m server` selects it."""
    for item in items:
        if "tests/integration/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def machine() -> SetupResult:
    """The server binary and module wasm; builds what is missing (fails loudly if it cannot)."""
    return setup()


def _start(machine: SetupResult, root: Path) -> ServerProcess:
    server = ServerProcess(machine.server_binary, root, port=free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def server(
    machine: SetupResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server for the session; each test gets its own database on it."""
    process = _start(machine, tmp_path_factory.mktemp("server"))
    yield process
    process.stop()


@pytest.fixture
def private_server(machine: SetupResult, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own, for tests that kill or restart it."""
    process = _start(machine, tmp_path / "server")
    yield process
    process.stop()


def publish(server: ServerProcess, wasm: Path, name: str | None = None) -> Database:
    """Publishes the module as a fresh database owned by a new identity."""
    name = name or f"t-{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        token = http.post("/v1/identity").raise_for_status().json()["token"]
        response = http.put(
            f"/v1/database/{name}",
            content=wasm.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
    server.register_database(name, token)  # its stops keep what it acknowledged
    return Database(base_url=server.base_url, name=name, token=token, server=server)


@pytest.fixture
def inner_universe(server: ServerProcess, machine: SetupResult) -> Database:
    """A freshly published Inner Universe database on the shared server."""
    return publish(server, machine.module_wasm)


@pytest.fixture
def isolated_inner_universe(private_server: ServerProcess, machine: SetupResult) -> Database:
    """A database on a server of its own (`.server.restart()`, `.server.kill()` are safe).

    Its publish is on disk before the test starts: SpacetimeDB 1.2 flushes its control
    database every 50 ms and the commit log every 500 ms, so a kill right after a publish
    could otherwise lose the database itself (404 after the restart)."""
    database = publish(private_server, machine.module_wasm)
    private_server.make_durable()
    return database


@pytest.fixture
def recorder_for() -> Iterator[Callable[..., InnerUniverseRecorder]]:
    made: list[InnerUniverseRecorder] = []

    def make(db: Database, **overrides: Any) -> InnerUniverseRecorder:
        settings = PluginSettings(url=db.base_url, database=db.name, token=db.token, **overrides)
        recorder = InnerUniverseRecorder(settings)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close()
