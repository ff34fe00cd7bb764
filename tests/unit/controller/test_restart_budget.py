"""The restart budget: a server that keeps dying is reported, not restarted forever."""

from __future__ import annotations

from nerv_inner_universe.controller.supervision import RestartBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_limit_restarts_within_the_window() -> None:
    clock = Clock()
    budget = RestartBudget(limit=3, window=60.0, clock=clock)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 59.0
    assert not budget.take(), "all three are still within the window"


def test_restarts_older_than_the_window_no_longer_count() -> None:
    clock = Clock()
    budget = RestartBudget(limit=2, window=60.0, clock=clock)
    assert budget.take()
    clock.now += 30.0
    assert budget.take()
    assert not budget.take()
    clock.now += 31.0  # the first is 61 s old
    assert budget.take()
    assert not budget.take(), "the second (31 s old) and third still count"
