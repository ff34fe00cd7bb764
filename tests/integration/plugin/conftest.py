"""Fixtures for the plugin: recorders and NERV runtimes on a real Inner Universe database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.nerv import Nerv
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import Database
from tests.waiting import wait_for

__all__ = ["nerv_config", "wait_for"]  # wait_for: imported from here by the plugin's tests


def nerv_config(db: Database, **overrides: Any) -> dict[str, Any]:
    """An Atlas-style config that enables the plugin by its entry-point name."""
    section = {"url": db.base_url, "database": db.name, "token": db.token, **overrides}
    return {"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}


RuntimeFactory = Callable[..., Nerv]


@pytest.fixture
def runtimes() -> Iterator[RuntimeFactory]:
    """Starts runtimes from a config and stops whatever a test left running."""
    started: list[Nerv] = []

    def start(config: dict[str, Any]) -> Nerv:
        runtime = Nerv(config).start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.stop()


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """The local outbox file of a test's ``events = "outbox"`` recorders."""
    return tmp_path / "outbox.sqlite"


@pytest.fixture
def outbox_recorder(
    inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    outbox_path: Path,
) -> Callable[[], InnerUniverseRecorder]:
    """Makes recorders of ``inner_universe`` with ``events = "outbox"`` on `outbox_path` (each
    call a new one, as a new process would be), not following."""
    return lambda: recorder_for(
        inner_universe, events="outbox", outbox_path=outbox_path, follow_remote=False
    )


class RowsRead:
    """The rows the one-off queries of this process return, per table they read."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}

    def count(self, query: str, rows: int) -> None:
        table = query.split(" FROM ", 1)[1].split(maxsplit=1)[0]
        self.rows[table] = self.rows.get(table, 0) + rows


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> RowsRead:
    """Counts what the client's queries return (the server answers them as always)."""
    read = RowsRead()
    query = DbConnection.one_off_query

    async def counted(connection: DbConnection, text: str, **options: Any) -> Any:
        results = await query(connection, text, **options)
        read.count(text, sum(len(result.rows) for result in results))
        return results

    monkeypatch.setattr(DbConnection, "one_off_query", counted)
    return read
