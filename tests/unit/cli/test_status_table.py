"""`inner-universe status` says when a database has an import open."""

from __future__ import annotations

import pytest
from rich.console import Console

from nerv_inner_universe.cli.serve_commands import _status_table
from nerv_inner_universe.controller import InnerUniverseConfig
from nerv_inner_universe.controller.status import ServerStatus


def shown(counts: dict[str, int]) -> str:
    status = ServerStatus(True, "http://127.0.0.1:3000", "db", "running", row_counts=counts)
    console = Console(width=200, record=True, file=None)
    with console.capture() as captured:
        console.print(_status_table(status, InnerUniverseConfig()))
    return captured.get()


@pytest.mark.parametrize(("open_imports", "said"), [(1, True), (0, False)])
def test_status_says_when_an_import_is_open(open_imports: int, said: bool) -> None:
    text = shown({"event_log": 3, "import_state": open_imports})
    assert ("half-imported" in text) is said
    assert "rows event_log" in text
