"""Admin work (`mint-identity`, `sql`, `grant`, ...) on a ``db_path`` where nothing was
deployed fails at once and creates nothing (issue 9, F6): without ``-c`` it used to start a
server in the working directory, leaving a data dir and a signing key there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nerv_inner_universe.controller import (
    InnerUniverseConfig,
    InnerUniverseController,
    NotDeployedError,
)

CLI = Path(sys.executable).with_name("inner-universe")


async def test_admin_mode_without_data_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    config = InnerUniverseConfig(db_path=tmp_path / "nowhere")
    controller = InnerUniverseController(config)
    with pytest.raises(NotDeployedError, match=r"nothing is deployed in .*nowhere"):
        await controller.start_admin_mode()
    assert controller.mode is None
    assert not config.db_path.exists()


def test_mint_identity_without_a_config_fails_fast_and_creates_nothing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INNER_UNIVERSE_")}
    done = subprocess.run(
        [str(CLI), "mint-identity"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "nothing is deployed in" in done.stderr
    assert "(-c)" in done.stderr
    assert list(tmp_path.iterdir()) == []
