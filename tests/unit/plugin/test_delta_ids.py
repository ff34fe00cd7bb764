"""Delta ids ``<stream>:<index>.<writer>`` (and the older ``<stream>:<index>``): the index is
ASCII digits, nothing else."""

from __future__ import annotations

import pytest

from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.streams import delta_id, delta_index


def test_a_delta_id_round_trips() -> None:
    assert delta_index("main", delta_id("main", 42, "w1a")) == 42
    assert delta_index("a:b", delta_id("a:b", 0, "w1a")) == 0


def test_ids_written_before_writers_were_named_still_read() -> None:
    assert delta_index("main", "main:7") == 7
    assert delta_index("a:b", "a:b:0") == 0


def test_two_writers_never_share_an_id() -> None:
    assert delta_id("main", 4, "aaa1") != delta_id("main", 4, "bbb2")


@pytest.mark.parametrize(
    "stored",
    [
        "main:\u00b2",
        "main:\u0662",
        "main:1_0",
        "main: 1",
        "main:",
        "main:-1",
        "other:1",
        "main:.w",
        "main:x.w",
    ],
)
def test_anything_but_ascii_digits_is_refused(stored: str) -> None:
    with pytest.raises(PersistenceError, match=r"is not of the form 'main:<index>\[\.<writer>\]'"):
        delta_index("main", stored)


def test_an_index_past_i64_is_refused() -> None:
    with pytest.raises(PersistenceError):
        delta_index("main", "main:" + "1" * 5000)
