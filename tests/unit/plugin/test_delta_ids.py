"""Delta ids ``<stream>:<index>``: the index is ASCII digits, nothing else."""

from __future__ import annotations

import pytest

from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.reader import delta_id, delta_index


def test_a_delta_id_round_trips() -> None:
    assert delta_index("main", delta_id("main", 42)) == 42
    assert delta_index("a:b", "a:b:0") == 0


@pytest.mark.parametrize(
    "stored", ["main:\u00b2", "main:\u0662", "main:1_0", "main: 1", "main:", "main:-1", "other:1"]
)
def test_anything_but_ascii_digits_is_refused(stored: str) -> None:
    with pytest.raises(PersistenceError, match="is not of the form 'main:<index>'"):
        delta_index("main", stored)


def test_an_index_past_i64_is_refused() -> None:
    with pytest.raises(PersistenceError):
        delta_index("main", "main:" + "1" * 5000)
