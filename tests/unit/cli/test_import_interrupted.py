"""Ctrl-C during `inner-universe import` says what it may have left: a half-imported database,
and how to recover."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from click.testing import CliRunner

from nerv_inner_universe.cli import backup_commands
from nerv_inner_universe.cli.main import cli


class Interrupted:
    """A controller whose import is interrupted (Ctrl-C) half-way."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    async def __aenter__(self) -> Interrupted:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        pass

    async def start_admin_mode(self) -> None:
        pass

    async def import_export(self, _file: Path, **_options: Any) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_during_an_import_says_how_to_recover(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backup_commands, "InnerUniverseController", Interrupted)
    export = tmp_path / "dump.jsonl"
    export.write_text("{}\n")
    monkeypatch.chdir(tmp_path)  # no config file here: the defaults
    result = CliRunner().invoke(cli, ["import", str(export)])
    assert result.exit_code == 130
    assert "the import was cut short" in result.output
    assert "inner-universe deploy --wipe" in result.output
    assert "interrupted" in result.output
