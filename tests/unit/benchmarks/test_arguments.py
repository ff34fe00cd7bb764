"""The benchmarks refuse bad arguments before a long run, not after it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from benchmarks import engine_depth
from benchmarks.arguments import json_destination
from benchmarks.compare import MIN_THREAD_SECONDS


def test_a_json_destination_is_a_file_in_an_existing_writable_directory(tmp_path: Path) -> None:
    assert json_destination(str(tmp_path / "figures.json")) == tmp_path / "figures.json"
    assert json_destination("figures.json") == Path("figures.json")  # the working directory
    with pytest.raises(argparse.ArgumentTypeError, match="is not a directory"):
        json_destination(str(tmp_path / "missing" / "figures.json"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a directory; name a file"):
        json_destination(str(tmp_path))


def test_a_json_destination_in_a_directory_this_user_cannot_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root may write anywhere, so the permission answer is faked for this directory only.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(argparse.ArgumentTypeError, match="is not writable"):
        json_destination(str(tmp_path / "figures.json"))


def test_engine_depth_refuses_smoke_with_explicit_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        engine_depth.parse_args(["--smoke", "--events", "10"])
    assert exited.value.code == 2
    assert "--smoke sets the sizes" in capsys.readouterr().err
    smoke = engine_depth.parse_args(["--smoke"])
    assert (smoke.events, smoke.segment) == (2_000, 1_000)
    default = engine_depth.parse_args([])
    assert (default.events, default.segment) == (1_000_000, 100_000)


def test_a_share_of_a_few_clock_ticks_is_not_shown() -> None:
    def segment(thread_seconds: float) -> engine_depth.Segment:
        return engine_depth.Segment(1_000, 1_000, 0.1, 0.05, 0.08, thread_seconds)

    assert segment(MIN_THREAD_SECONDS / 2).reducer_share is None
    assert engine_depth.share(segment(MIN_THREAD_SECONDS / 2)) == "-"
    assert segment(0.1).reducer_share == pytest.approx(0.5)
    assert engine_depth.share(segment(0.1)) == "0.50"
