"""Delta ids: the plugin writes ``<stream>:<index>.<writer>`` (earlier versions
``<stream>:<index>``), but a stream may hold deltas under any id the module accepts. The index a
stored delta is applied under comes from its id when the plugin wrote it, and rises along the
log either way."""

from __future__ import annotations

import pytest

from nerv_inner_universe.plugin.streams import delta_id, delta_index


def test_a_delta_id_round_trips() -> None:
    assert delta_index("main", delta_id("main", 42, "w1a"), 0) == 42
    assert delta_index("a:b", delta_id("a:b", 0, "w1a"), 0) == 0


def test_ids_written_before_writers_were_named_still_read() -> None:
    assert delta_index("main", "main:7", 0) == 7
    assert delta_index("a:b", "a:b:0", 0) == 0


def test_an_index_taken_already_is_raised_to_the_lowest_free_one() -> None:
    assert delta_index("main", delta_id("main", 3, "w1a"), 5) == 5
    assert delta_index("main", delta_id("main", 9, "w1a"), 5) == 9


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
        "main:1x",
        "other:1",
        "main:.w",
        "main:x.w",
        "d-uuid",
        "main:" + "1" * 5000,
    ],
)
def test_an_id_of_another_form_takes_the_lowest_free_index(stored: str) -> None:
    assert delta_index("main", stored, 0) == 0
    assert delta_index("main", stored, 12) == 12
