"""Progress for non-interactive output: a line at least every 30 s, driven by a fake clock."""

from __future__ import annotations

import threading

from nerv_inner_universe.toolchain.progress import CargoProgress, LineReporter, heartbeat


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reporter() -> tuple[LineReporter, FakeClock, list[str]]:
    clock = FakeClock()
    lines: list[str] = []
    return LineReporter(lines.append, every=30.0, clock=clock), clock, lines


def test_a_silent_build_still_gets_a_line_every_30_seconds() -> None:
    lines_reporter, clock, lines = reporter()
    lines_reporter.update("server", "1 crates compiled, last a")
    assert lines == ["[0m00s] server: 1 crates compiled, last a"]
    for second in range(1, 95):  # the build prints nothing more: a long link step
        clock.now = 1000.0 + second
        lines_reporter.tick()
    assert lines == [
        "[0m00s] server: 1 crates compiled, last a",
        "[0m30s] server: 1 crates compiled, last a",
        "[1m00s] server: 1 crates compiled, last a",
        "[1m30s] server: 1 crates compiled, last a",
    ]


def test_busy_output_is_thinned_to_one_line_per_interval_and_new_steps_show_at_once() -> None:
    lines_reporter, clock, lines = reporter()
    progress = CargoProgress("server", lines_reporter)
    for crate in range(100):  # one crate compiled every 0.5 s
        clock.now = 1000.0 + crate * 0.5
        progress(f"   Compiling crate{crate} v1.0.0")
    assert lines == [
        "[0m00s] server: 1 crates compiled, last crate0",
        "[0m30s] server: 61 crates compiled, last crate60",
    ]
    clock.now = 1050.0
    lines_reporter.update("module", "1 crates compiled, last serde")
    assert lines[-1] == "[0m50s] module: 1 crates compiled, last serde"


def test_ticks_before_any_update_say_setup_is_working() -> None:
    lines_reporter, clock, lines = reporter()
    lines_reporter.tick()
    assert lines == []
    clock.now = 1029.9
    lines_reporter.tick()
    assert lines == []
    clock.now = 1030.0
    lines_reporter.tick()
    assert lines == ["[0m30s] setup: working"]


def test_the_heartbeat_ticks_while_the_block_runs_and_stops_after() -> None:
    ticked = threading.Event()

    class Recording(LineReporter):
        def tick(self) -> None:
            ticked.set()

    beating = Recording(lambda _: None)
    with heartbeat(beating, poll=0.01):
        assert ticked.wait(timeout=10), "the heartbeat never ticked"
    assert not any(t.name == "setup-progress" for t in threading.enumerate())
