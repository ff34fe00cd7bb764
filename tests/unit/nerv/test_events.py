"""Event and EventBus: publishing, middleware, history, guards, observers, handler failures."""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from structlog.typing import EventDict

from nerv_inner_universe.nerv import (
    ALL_EVENTS,
    Event,
    EventBus,
    InvalidEventError,
    event_type_name,
)


class EventType(enum.Enum):
    SYSTEM_INIT = enum.auto()
    AGENT_STARTED = enum.auto()


class Kind(enum.StrEnum):
    ENTITY_CREATED = "entity.created"


def test_event_create_stamps_id_and_whole_microseconds() -> None:
    event = Event.create("ENTITY_CREATED", {"a": 1}, source="me", metadata={"k": "v"})
    assert uuid.UUID(event.id).version == 4
    assert event.timestamp == round(event.timestamp, 6)
    assert event.timestamp * 1_000_000 == int(event.timestamp * 1_000_000)
    assert (event.type, event.data, event.source, event.metadata) == (
        "ENTITY_CREATED",
        {"a": 1},
        "me",
        {"k": "v"},
    )
    assert event.replayed is False
    assert (event.sender, event.position) == (None, None)


def test_what_a_store_vouches_for_is_checked_and_no_content() -> None:
    event = Event.create("CHAT", {"n": 1})
    stored = attrs.evolve(event, sender="c200ab", position=7)
    assert (stored.sender, stored.position) == ("c200ab", 7)
    assert stored == event
    for bad_sender in ["", 5]:
        with pytest.raises(InvalidEventError, match="event sender must be"):
            attrs.evolve(event, sender=bad_sender)  # type: ignore[arg-type]
    for bad_position in [0, True, "1"]:
        with pytest.raises(InvalidEventError, match="event position must be"):
            attrs.evolve(event, position=bad_position)  # type: ignore[arg-type]


def test_event_types_are_stored_as_enum_member_names() -> None:
    assert Event.create(EventType.SYSTEM_INIT).type == "SYSTEM_INIT"
    assert Event.create(Kind.ENTITY_CREATED).type == "ENTITY_CREATED"
    assert event_type_name("X") == "X"


@pytest.mark.parametrize("bad", ["", 3, None, ALL_EVENTS])
def test_invalid_event_types_are_refused(bad: object) -> None:
    with pytest.raises(InvalidEventError):
        Event.create(bad)  # type: ignore[arg-type]


def test_publish_calls_handlers_of_the_type_and_wildcard() -> None:
    bus = EventBus()
    typed: list[Event] = []
    every: list[Event] = []
    bus.subscribe(EventType.SYSTEM_INIT, typed.append)
    bus.subscribe(ALL_EVENTS, every.append)
    first = bus.publish(EventType.SYSTEM_INIT, {"n": 1}, source="s")
    bus.publish("OTHER")
    assert [e.id for e in typed] == [first]
    assert [e.type for e in every] == ["SYSTEM_INIT", "OTHER"]
    assert typed[0].source == "s"


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus()
    seen: list[Event] = []
    unsubscribe = bus.subscribe("A", seen.append)
    bus.publish("A")
    unsubscribe()
    unsubscribe()
    bus.publish("A")
    assert len(seen) == 1


def test_the_same_handler_subscribed_twice_is_called_twice_and_removed_once() -> None:
    bus = EventBus()
    seen: list[Event] = []
    first = bus.subscribe("A", seen.append)
    bus.subscribe("A", seen.append)
    bus.publish("A")
    first()
    bus.publish("A")
    assert len(seen) == 3


def test_middleware_rewrites_and_drops_events() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(ALL_EVENTS, seen.append)

    def tag(event: Event) -> Event:
        return Event(event.id, event.type, event.data, event.timestamp, "tagged", event.metadata)

    def drop_secret(event: Event) -> Event | None:
        return None if event.type == "SECRET" else event

    remove_tag = bus.add_middleware(tag)
    bus.add_middleware(drop_secret)
    dropped = bus.publish("SECRET")
    bus.publish("PUBLIC")
    remove_tag()
    bus.publish("PLAIN")
    assert [(e.type, e.source) for e in seen] == [("PUBLIC", "tagged"), ("PLAIN", None)]
    assert isinstance(dropped, str)
    assert dropped not in {e.id for e in bus.get_history(limit=None)}


def test_history_is_newest_first_filtered_limited_and_bounded() -> None:
    bus = EventBus(max_history=5)
    ids = [bus.publish("A" if i % 2 else "B", i) for i in range(8)]
    assert [e.id for e in bus.get_history(limit=None)] == ids[::-1][:5]
    assert [e.data for e in bus.get_history("A")] == [7, 5, 3]
    assert [e.data for e in bus.get_history(limit=2)] == [7, 6]
    assert bus.get_history(EventType.SYSTEM_INIT) == []


def test_publish_event_is_idempotent_by_id() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("A", seen.append)
    event = Event.create("A", 1)
    assert bus.publish_event(event) == event.id
    assert bus.publish_event(event) == event.id
    assert seen == [event]
    assert bus.get_history() == [event]


def test_a_repeated_id_is_checked_then_passed_over() -> None:
    """A repeat check is asked about a repeat (so a recorder can refuse other content under an
    id it stored), not about a replayed copy or a first publish; what it raises reaches the
    publisher, and the repeat changes nothing. Guards see only first publishes."""
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("A", seen.append)
    guarded: list[Event] = []
    checked: list[Event] = []
    bus.add_guard(guarded.append)
    remove = bus.add_repeat_check(checked.append)
    first = Event("id-1", "A", {"qty": 1}, 1.0)
    other = Event("id-1", "A", {"qty": 999}, 1.0)
    bus.publish_event(first)
    bus.publish_event(first)
    bus.publish_event(other)
    bus.publish_event(other.as_replayed())
    assert guarded == [first]
    assert checked == [first, other]
    assert seen == [first]

    def conflict(event: Event) -> None:
        if event.data != first.data:
            raise ValueError(f"{event.id} holds other content")

    remove()
    bus.add_repeat_check(conflict)
    with pytest.raises(ValueError, match="other content"):
        bus.publish_event(other)
    bus.publish_event(first)
    assert bus.replay([other]) == 1  # a replayed copy is the store's: not checked
    assert checked == [first, other]
    assert seen == [first]
    assert bus.get_history() == [first]


def test_replayed_events_skip_middleware_and_handlers_can_tell() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("A", seen.append)
    bus.add_middleware(lambda event: None)
    bus.publish("A")
    replayed = Event("id-1", "A", None, 1.0, replayed=True)
    bus.publish_event(replayed)
    assert seen == [replayed]
    assert seen[0].replayed


def test_a_failing_handler_is_logged_recorded_and_does_not_stop_others(
    logs: list[EventDict],
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe("A", broken)
    bus.subscribe("A", seen.append)
    bus.subscribe(ALL_EVENTS, seen.append)
    event_id = bus.publish("A")
    assert len(seen) == 2
    [failure] = bus.errors
    assert failure.event.id == event_id
    assert failure.handler.endswith("broken")
    assert isinstance(failure.error, RuntimeError)
    [entry] = [e for e in logs if e["event"] == "event_handler_failed"]
    assert entry["event_id"] == event_id
    assert entry["event_type"] == "A"
    assert entry["handler"] == failure.handler
    assert entry["level"] == "error"


def test_handler_errors_are_bounded() -> None:
    bus = EventBus(max_errors=2)

    def broken(event: Event) -> None:
        raise ValueError(event.data)

    bus.subscribe("A", broken)
    for i in range(3):
        bus.publish("A", i)
    assert [f.event.data for f in bus.errors] == [1, 2]


def test_a_guard_vetoes_an_event_before_anything_happens() -> None:
    bus = EventBus()
    seen: list[Event] = []
    observed: list[Event] = []
    bus.subscribe("A", seen.append)
    bus.add_observer(observed.append)

    def veto(event: Event) -> None:
        if event.data == "bad":
            raise PermissionError("no")

    remove = bus.add_guard(veto)
    event = Event.create("A", "bad")
    with pytest.raises(PermissionError):
        bus.publish_event(event)
    assert (seen, observed, bus.get_history()) == ([], [], [])
    remove()
    bus.publish_event(event)
    assert seen == observed == [event]


def test_observers_see_accepted_events_before_handlers_in_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    bus.add_guard(lambda event: calls.append(f"guard {event.data}"))
    remove = bus.add_observer(lambda event: calls.append(f"observer {event.data}"))
    bus.subscribe("A", lambda event: calls.append(f"handler {event.data}"))
    bus.publish("A", 1)
    remove()
    bus.publish("A", 2)
    assert calls == ["guard 1", "observer 1", "handler 1", "guard 2", "handler 2"]


def test_an_observer_may_publish() -> None:
    bus = EventBus()
    bus.add_observer(lambda event: event.type == "A" and bus.publish("B"))
    bus.publish("A")
    assert [e.type for e in bus.get_history()] == ["B", "A"]


def test_the_dedupe_window_forgets_old_ids() -> None:
    bus = EventBus(max_history=1, dedupe_window=1)
    first = Event.create("A")
    bus.publish_event(first)
    bus.publish("A")
    bus.publish_event(first)
    assert bus.get_history(limit=None) == [first]


def test_a_failing_observer_is_logged_recorded_and_the_event_still_dispatched(
    logs: list[EventDict],
) -> None:
    bus = EventBus()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("observer broke")

    bus.add_observer(broken)
    bus.add_observer(seen.append)
    bus.subscribe("A", seen.append)
    event_id = bus.publish("A")
    assert [e.id for e in seen] == [event_id, event_id]
    assert [e.id for e in bus.get_history()] == [event_id]
    assert [f.handler.endswith("broken") for f in bus.errors] == [True]
    assert [e["event"] for e in logs if e["level"] == "error"] == ["event_observer_failed"]


def test_a_handler_without_a_qualname_is_named_by_its_repr() -> None:
    bus = EventBus()

    def broken(event: Event, reason: str) -> None:
        raise RuntimeError(reason)

    handler = functools.partial(broken, reason="boom")
    bus.subscribe("A", handler)
    bus.publish("A")
    assert [f.handler for f in bus.errors] == [repr(handler)]


def test_as_replayed_is_evolve_without_checking_again() -> None:
    event = attrs.evolve(
        Event.create("CHAT", {"n": [1]}, source="s", metadata={"k": {"v": 1}}),
        sender="c200ab",
        position=7,
    )
    marked = event.as_replayed()
    expected = attrs.evolve(event, replayed=True)
    assert marked == expected
    assert marked.replayed is True
    assert [getattr(marked, a.name) for a in attrs.fields(Event)] == [
        getattr(expected, a.name) for a in attrs.fields(Event)
    ]
    assert marked.metadata is not event.metadata  # its own dict, as the converter copies it
    assert marked.data is event.data  # data is shared, as evolve shares it
    assert marked.as_replayed() is marked
    assert event.replayed is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "", "event id must be"),
        ("id", 5, "event id must be"),
        ("timestamp", float("nan"), "event timestamp must be"),
        ("timestamp", float("inf"), "event timestamp must be"),
        ("timestamp", True, "event timestamp must be"),
        ("source", 5, "event source must be"),
        ("metadata", [], "metadata must be"),
        ("metadata", {"a": float("nan")}, "metadata"),
        ("sender", "", "event sender must be"),
        ("position", 0, "event position must be"),
        ("position", 2.0, "event position must be"),
        ("type", "*", "only subscribes"),
    ],
)
def test_each_field_check_refuses_what_its_quick_path_lets_by(
    field: str, value: object, message: str
) -> None:
    fields: dict[str, object] = {"id": "e", "type": "T", "data": None, "timestamp": 1.5}
    with pytest.raises(InvalidEventError, match=message):
        Event(**{**fields, field: value})  # type: ignore[arg-type]


TEXT_FIELDS = {
    "id": "event id",
    "type": "event type",
    "source": "event source",
    "sender": "event sender",
}


@pytest.mark.parametrize("field", list(TEXT_FIELDS))
@pytest.mark.parametrize("text", ["\udc00", "ok\ud800", "é\udfff"])
def test_every_text_field_refuses_a_lone_surrogate_when_built(field: str, text: str) -> None:
    fields: dict[str, object] = {"id": "e", "type": "T", "data": None, "timestamp": 1.5}
    with pytest.raises(InvalidEventError, match="lone surrogate") as caught:
        Event(**{**fields, field: text})  # type: ignore[arg-type]
    assert str(caught.value).startswith(TEXT_FIELDS[field])
    assert isinstance(caught.value.__cause__, UnicodeEncodeError)


def test_publish_refuses_a_lone_surrogate_before_anything_is_published() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.add_observer(seen.append)
    publishes: list[Callable[[], object]] = [
        lambda: bus.publish("T", source="\udc00"),
        lambda: bus.publish("T\ud800"),
        lambda: bus.publish("T", metadata={"\udc00": 1}),
    ]
    for publish in publishes:
        with pytest.raises(InvalidEventError, match="surrogate"):
            publish()
    assert seen == []
    assert bus.get_history() == []


def test_non_ascii_text_that_utf8_carries_is_kept() -> None:
    event = Event(id="é-1", type="ÉVÉNEMENT", data=None, timestamp=1.5, source="日本", sender="ß")
    assert (event.id, event.type, event.source, event.sender) == ("é-1", "ÉVÉNEMENT", "日本", "ß")


def test_the_usual_and_the_unusual_valid_values_are_kept() -> None:
    usual = Event(id="e", type="T", data=None, timestamp=1.5, metadata=None, position=1)
    assert (usual.metadata, usual.timestamp, usual.position) == ({}, 1.5, 1)
    unusual = Event(id="e", type=Kind.ENTITY_CREATED, data=None, timestamp=2, metadata={"a": 1})
    assert (unusual.type, unusual.timestamp, unusual.metadata) == ("ENTITY_CREATED", 2, {"a": 1})
    given = {"a": 1}
    assert Event(id="e", type="T", data=None, timestamp=1.0, metadata=given).metadata is not given


def read_back(fields: dict[str, object], replayed: bool = True) -> Event:
    """`Event.read_back` of ``fields`` (named as `Event`'s)."""
    f: dict[str, Any] = fields
    return Event.read_back(
        f["id"],
        f["type"],
        f["data"],
        f["timestamp"],
        f["source"],
        f["metadata"],
        f["sender"],
        f["position"],
        replayed,
    )


def all_fields(event: Event) -> list[object]:
    return [getattr(event, a.name) for a in attrs.fields(Event)]


@pytest.mark.parametrize(
    "changes",
    [
        {},  # the usual: ASCII text, a float, an int, a small dict
        {"source": None, "sender": None, "position": None, "metadata": {}},
        {"id": "é-1", "type": "ÉVÉNEMENT", "source": "日本", "sender": "ß"},  # not ASCII
        {"type": Kind.ENTITY_CREATED},  # an enum member: its name
        {"timestamp": 2},  # an int
    ],
)
@pytest.mark.parametrize("replayed", [True, False])
def test_read_back_builds_what_the_constructor_builds(
    changes: dict[str, object], replayed: bool
) -> None:
    fields: dict[str, object] = {
        "id": "e-1",
        "type": "T",
        "data": {"n": [1]},
        "timestamp": 1.5,
        "source": "s",
        "metadata": {"k": {"v": 1}},
        "sender": "c2ab",
        "position": 7,
        **changes,
    }
    built = Event(**fields, replayed=replayed)  # type: ignore[arg-type]
    read = read_back(fields, replayed)
    assert type(read) is Event
    assert all_fields(read) == all_fields(built)
    assert read == built
    if not changes:  # the usual values: the dict the caller made is kept, not copied
        assert read.metadata is fields["metadata"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        read.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "", "event id must be"),
        ("id", 5, "event id must be"),
        ("id", "\udc00", "lone surrogate"),
        ("type", "*", "only subscribes"),
        ("type", "", "event type"),
        ("type", "T\ud800", "lone surrogate"),
        ("timestamp", float("nan"), "event timestamp must be"),
        ("timestamp", float("inf"), "event timestamp must be"),
        ("timestamp", True, "event timestamp must be"),
        ("source", 5, "event source must be"),
        ("metadata", [], "metadata must be"),  # its content is the caller's to vouch for
        ("sender", "", "event sender must be"),
        ("sender", "\udc00", "lone surrogate"),
        ("position", 0, "event position must be"),
        ("position", True, "event position must be"),
        ("position", 2.0, "event position must be"),
    ],
)
def test_read_back_refuses_what_the_constructor_refuses(
    field: str, value: object, message: str
) -> None:
    fields: dict[str, object] = {
        "id": "e",
        "type": "T",
        "data": None,
        "timestamp": 1.5,
        "source": None,
        "metadata": {},
        "sender": None,
        "position": None,
    }
    with pytest.raises(InvalidEventError, match=message):
        read_back({**fields, field: value})
    with pytest.raises(InvalidEventError, match=message):
        Event(**{**fields, field: value})  # type: ignore[arg-type]


def test_replay_publishes_each_event_replayed_in_order_and_counts_them() -> None:
    bus = EventBus()
    seen: list[Event] = []
    observed: list[Event] = []
    bus.subscribe("A", seen.append)
    bus.subscribe(ALL_EVENTS, seen.append)
    bus.add_observer(observed.append)
    bus.add_middleware(lambda event: None)  # replayed events skip it
    first, second = Event("e-1", "A", 1, 1.0), Event("e-2", "B", 2, 2.0, replayed=True)
    assert bus.replay(iter([first, second, first])) == 3  # e-1 again: taken, not accepted
    replayed_first = first.as_replayed()
    assert observed == [replayed_first, second]
    assert seen == [replayed_first, replayed_first, second]
    assert all(event.replayed for event in seen)
    assert bus.get_history() == [second, replayed_first]
    assert bus.replay([]) == 0


def test_replay_refuses_what_is_not_an_event_after_publishing_the_ones_before() -> None:
    bus = EventBus()
    with pytest.raises(InvalidEventError, match="replay needs Events, not dict"):
        bus.replay([Event("e-1", "A", 1, 1.0), {"id": "e-2"}])  # type: ignore[list-item]
    assert [event.id for event in bus.get_history()] == ["e-1"]


def test_a_guard_veto_stops_a_replay_where_it_is() -> None:
    bus = EventBus()

    def guard(event: Event) -> None:
        if event.id == "e-2":
            raise RuntimeError("vetoed")

    bus.add_guard(guard)
    events = [Event(f"e-{n}", "A", n, 1.0) for n in range(1, 4)]
    with pytest.raises(RuntimeError, match="vetoed"):
        bus.replay(events)
    assert [event.id for event in bus.get_history()] == ["e-1"]


def test_replay_goes_through_a_subclass_publish_event() -> None:
    class CountingBus(EventBus):
        def __init__(self) -> None:
            super().__init__()
            self.published: list[str] = []

        def publish_event(self, event: Event) -> str:
            self.published.append(event.id)
            return super().publish_event(event)

    bus = CountingBus()
    assert bus.replay([Event("e-1", "A", 1, 1.0), Event("e-2", "A", 2, 2.0)]) == 2
    assert bus.published == ["e-1", "e-2"]
    assert all(event.replayed for event in bus.get_history())


def test_replay_goes_through_a_publish_event_replaced_on_the_instance() -> None:
    bus = EventBus()
    published: list[str] = []
    original = bus.publish_event

    def wrapper(event: Event) -> str:
        published.append(event.id)
        return original(event)

    bus.publish_event = wrapper  # type: ignore[method-assign]
    assert bus.replay([Event("e-1", "A", 1, 1.0)]) == 1
    assert published == ["e-1"]
    assert [event.id for event in bus.get_history()] == ["e-1"]
