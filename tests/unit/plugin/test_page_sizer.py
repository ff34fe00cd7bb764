"""`PageSizer`: how many `event_log` rows a replay page asks for (pure logic)."""

from __future__ import annotations

from nerv_inner_universe.plugin.reader import FIRST_PAGE_ROWS, MAX_PAGE_ROWS, PageSizer


def test_small_rows_grow_the_page_by_doubling_up_to_the_row_cap() -> None:
    sizer = PageSizer(budget=1 << 30)
    seen = []
    for _ in range(12):
        seen.append(sizer.rows)
        sizer.fitted(sizer.rows, sizer.rows * 100)
    assert seen[:3] == [FIRST_PAGE_ROWS, 2 * FIRST_PAGE_ROWS, 4 * FIRST_PAGE_ROWS]
    assert max(seen) == MAX_PAGE_ROWS
    assert seen[-1] == MAX_PAGE_ROWS


def test_the_page_aims_at_the_byte_budget_at_the_last_mean_row_size() -> None:
    sizer = PageSizer(rows=1_000, budget=1_000_000)
    sizer.fitted(1_000, 1_000 * 10_000)  # 10 kB rows: 100 of them fill the budget
    assert sizer.rows == 100
    sizer.fitted(100, 100 * 10_000)
    assert sizer.rows == 100


def test_rows_larger_than_the_budget_still_give_one_row_pages() -> None:
    sizer = PageSizer(rows=50, budget=1_000)
    sizer.fitted(50, 50 * 5_000)
    assert sizer.rows == 1
    sizer.fitted(1, 5_000)
    assert sizer.rows == 1


def test_a_short_last_page_sizes_by_what_it_held() -> None:
    sizer = PageSizer(rows=4_000, budget=1_000_000)
    sizer.fitted(3, 3 * 200_000)  # 200 kB rows
    assert sizer.rows == 5


def test_shrinking_halves_down_to_one_row_then_refuses() -> None:
    sizer = PageSizer(rows=5)
    assert sizer.shrink()
    assert sizer.rows == 2
    assert sizer.shrink()
    assert sizer.rows == 1
    assert not sizer.shrink()
    assert sizer.rows == 1


def test_a_page_after_a_shrink_grows_back_gradually() -> None:
    sizer = PageSizer(rows=8, budget=1 << 30)
    sizer.shrink()
    sizer.fitted(4, 400)
    assert sizer.rows == 8
