"""The README's conflict-retry recipe runs as written: it commits, retries on a conflict, and
raises once its bound of attempts is used up (never gives up silently)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv import ConcurrencyConflictError, Nerv, VersionedState

README = Path(__file__).parents[2] / "README.md"


def recipe() -> str:
    """The README's fenced Python block that defines ``commit_retrying``."""
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", README.read_text(), re.M | re.S)
    [code] = [textwrap.dedent(body) for _indent, body in blocks if "def commit_retrying" in body]
    return code


class Conflicts:
    """A TemporalStore guard that refuses the first ``times`` commits as conflicts."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.asked = 0

    def __call__(self, version: VersionedState, _operations: list[Operation]) -> None:
        self.asked += 1
        if self.asked <= self.times:
            raise ConcurrencyConflictError("another process committed first", version.version_id)


def run(conflicts: int) -> tuple[Nerv, Conflicts]:
    nerv = Nerv().start()
    guard = Conflicts(conflicts)
    nerv.temporal_store.add_guard(guard)
    namespace: dict[str, Any] = {"nerv": nerv}
    exec(recipe(), namespace)  # noqa: S102 - the README's own code, run as a user would
    return nerv, guard


def test_the_recipe_commits_as_written() -> None:
    nerv, guard = run(conflicts=0)
    assert nerv.temporal_store.get() == {"done": True}
    assert guard.asked == 1


def test_the_recipe_retries_past_many_conflicts() -> None:
    nerv, guard = run(conflicts=39)
    assert nerv.temporal_store.get() == {"done": True}
    assert guard.asked == 40
    [version] = nerv.temporal_store.get_history()
    assert version.change_description == "mark done"


def test_the_recipe_raises_when_its_attempts_are_used_up() -> None:
    with pytest.raises(RuntimeError, match="still conflicting after 100 attempts"):
        run(conflicts=1000)
