"""`PackedEvents`: the writer's compact form of acknowledged events gives back equal events."""

from __future__ import annotations

import sys

from nerv_inner_universe.client import Timestamp
from nerv_inner_universe.contract import EventInput
from nerv_inner_universe.plugin.packed import PackedEvents


def event(n: int, *, source: str | None = "app", data: str = '{"n":1}') -> EventInput:
    return EventInput(
        event_id=f"e{n}",
        event_type="tested",
        source=source,
        occurred_at=Timestamp(1_700_000_000_000_000 + n),
        data=data,
        metadata='{"k":"v"}',
    )


def test_events_come_back_equal_and_in_order() -> None:
    events = [
        event(0),
        event(1, source=None),
        event(2, source=""),
        event(3, data='"\u00e9\u4e2d\U0001f600"'),  # wider characters widen the whole text
        event(4, data='"\ud800"'),  # a lone surrogate, as a str may hold
        EventInput(event_id="e5", event_type="t", source=None, occurred_at=Timestamp(-1), data="0"),
    ]
    packed = PackedEvents.of(events)

    assert len(packed) == len(events)
    assert packed.events() == events
    assert [item.source for item in packed.events()[:3]] == ["app", None, ""]


def test_one_event_alone_round_trips() -> None:
    assert PackedEvents.of([event(7)]).events() == [event(7)]


def test_keeping_a_packed_event_costs_its_texts_and_a_few_dozen_bytes() -> None:
    events = [event(n, data=f'{{"n":{n},"payload":"{"x" * 64}"}}') for n in range(500)]
    packed = PackedEvents.of(events)
    texts = sum(
        len(item.event_id)
        + len(item.event_type)
        + len(item.source or "")
        + len(item.data)
        + len(item.metadata)
        for item in events
    )
    events_and_data = sum(sys.getsizeof(item) + sys.getsizeof(item.data) for item in events)

    assert texts < packed.nbytes <= texts + 28 * len(events) + 512
    assert packed.nbytes < events_and_data  # less than two of an event's objects
