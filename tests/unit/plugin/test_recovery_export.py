"""A recovery report holds recorded states and events: it is written 0600."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from nerv_inner_universe.plugin.reader import SkippedDelta
from nerv_inner_universe.plugin.recovery import RecoveryReport, StreamReport, export


def test_the_report_is_written_0600_even_over_a_wider_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old")
    path.chmod(0o644)
    export(RecoveryReport(3, [], [StreamReport("main", 1, {"a": 1})]), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["events"] == 3


def test_skipped_deltas_are_exported_with_their_stream(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    skip = SkippedDelta("main:1x", "main", 7, "operation 0 (remove at '/nope') failed")
    export(RecoveryReport(0, [], [StreamReport("main", 2, {"a": 1}, [skip])]), path)
    stream = json.loads(path.read_text())["streams"]["main"]
    assert stream["deltas"] == 2
    assert stream["skipped"] == [
        {"delta_id": "main:1x", "seq": 7, "error": "operation 0 (remove at '/nope') failed"}
    ]
