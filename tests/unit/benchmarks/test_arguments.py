"""The benchmarks refuse bad arguments before a long run, not after it."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import pytest
from rich.console import Console

from benchmarks import engine_depth, restore
from benchmarks.arguments import json_destination, profile_directory
from benchmarks.compare import MIN_THREAD_SECONDS, BenchmarkError, Measured, Run
from benchmarks.process import INTERRUPTED, guarded


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


def test_a_profile_directory_is_one_or_can_be_made(tmp_path: Path) -> None:
    assert profile_directory(str(tmp_path)) == tmp_path
    assert profile_directory(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b"
    (tmp_path / "file").write_text("")
    with pytest.raises(argparse.ArgumentTypeError, match="exists and is not a directory"):
        profile_directory(str(tmp_path / "file"))
    with pytest.raises(argparse.ArgumentTypeError, match="is not a directory"):
        profile_directory(str(tmp_path / "file" / "under"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--sizes", "0"], "--sizes must be positive"),
        (["--sizes", "10", "-5"], "--sizes must be positive"),
        (["--interval", "0"], "--interval is 1 to 10,000"),
        (["--interval", "100000"], "--interval is 1 to 10,000"),
        (["--state-kib", "-1"], "--state-kib is 0 to 4,000"),
        (["--state-kib", "5000"], "--state-kib is 0 to 4,000"),
    ],
)
def test_restore_refuses_sizes_and_settings_the_module_would_refuse(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        restore.parse_args(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_run_ends_in_one_line_and_a_status(capsys: pytest.CaptureFixture[str]) -> None:
    def failing() -> int:
        raise BenchmarkError("database x holds 3 events; 4 were published")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert guarded(lambda: 0, BenchmarkError) == 0
    assert guarded(failing, BenchmarkError) == 1
    assert capsys.readouterr().err == (
        "BenchmarkError: database x holds 3 events; 4 were published\n"
    )
    assert guarded(interrupted, BenchmarkError) == INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not a benchmark failure"):
        guarded(lambda: int("not a benchmark failure"), BenchmarkError)


def test_sigterm_unwinds_a_guarded_run() -> None:
    unwound: list[str] = []

    def run() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            return 0
        finally:
            unwound.append("cleaned up")

    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as exited:
            guarded(run, BenchmarkError)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exited.value.code == 128 + signal.SIGTERM
    assert unwound == ["cleaned up"]


def test_calls_that_failed_together_end_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def together() -> int:
        lost = [BenchmarkError(f"call {n} lost") for n in range(3)]
        raise ExceptionGroup(
            "unhandled errors in a TaskGroup", [lost[0], ExceptionGroup("", lost[1:])]
        )

    def mixed() -> int:
        raise ExceptionGroup("unhandled errors", [BenchmarkError("lost"), ValueError("a bug")])

    assert guarded(together, BenchmarkError) == 1
    assert capsys.readouterr().err == "BenchmarkError: call 0 lost (and 2 more)\n"
    with pytest.raises(ExceptionGroup):  # a bug among the failures is not hidden
        guarded(mixed, BenchmarkError)


@pytest.mark.parametrize(("largest", "held"), [(400, False), (100_000, True)])
def test_rss_per_100k_replayed_has_its_target_from_100k_events_on(largest: int, held: bool) -> None:
    """At smoke sizes a start's fixed cost, scaled to 100k events, is most of the figure: it is
    shown without a target there, not marked as missed."""
    args = argparse.Namespace(replay=[100, largest])
    figures = {
        f"{kind}_{size}": Measured(size, 1.0, rss_growth_mib=5.0)
        for kind in ("replay", "head")
        for size in (100, largest)
    }
    run = Run(args, Console(quiet=True))
    rss = run.replay_ratios(figures)[-1]
    assert rss.label == f"RSS growth per 100k replayed ({largest:,} events)"
    assert rss.value == 5.0 * 100_000 / largest
    assert (rss.target, rss.met) == (("<= 10.00", rss.value <= 10) if held else (None, None))
