"""The README's main job: the example runs end to end, twice, and the second run continues."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_workflow.py"


def run_example(db_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--db-path", str(db_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"example failed:\n{done.stdout}\n{done.stderr}"
    return " ".join(done.stdout.split())


def test_example_restores_its_state_and_continues(tmp_path: Path) -> None:
    first = run_example(tmp_path / "db")
    assert "run 1: replay restored 0 events, 0 versions" in first
    assert "restored by replay: 5 events, 1 versions" in first
    second = run_example(tmp_path / "db")
    assert "run 2: replay restored 5 events, 1 versions" in second
    assert "restored by replay: 10 events, 2 versions" in second
    assert "'run': 2" in second
