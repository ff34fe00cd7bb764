"""Every public NERV call checks its arguments where they are passed and names the bad one.

The error is ``InvalidArgumentError`` (or its ``InvalidEventError``/``InvalidDeltaError``
subclass), never a ``TypeError`` from deep inside; a non-JSON item raises it too, naming the
argument, chained from the delta layer's ``InvalidValueError``. A refused call changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.delta import JSON, DeltaError
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    Event,
    EventBus,
    Nerv,
    PerspectiveAware,
    StateProjector,
    TemporalStore,
)
from nerv_inner_universe.nerv.errors import (
    InvalidArgumentError,
    InvalidDeltaError,
    InvalidEventError,
    NervError,
)

HUGE = 10**5000


def _names(call: Callable[[], object], error: type[Exception], name: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert name in str(caught.value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    "metadata", [[1], "ab", 5, (("a", 1),), HUGE], ids=["list", "str", "int", "pairs", "huge"]
)
def test_publish_refuses_metadata_that_is_no_dict(metadata: object) -> None:
    bus = EventBus()
    _names(lambda: bus.publish("A", metadata=metadata), InvalidEventError, "metadata")  # type: ignore[arg-type]
    assert bus.get_history() == []


def test_publish_refuses_metadata_that_is_not_json() -> None:
    bus = EventBus()
    _names(lambda: bus.publish("A", metadata={"a": {1, 2}}), InvalidEventError, "metadata")  # type: ignore[dict-item]
    _names(lambda: bus.publish("A", metadata={1: "x"}), InvalidEventError, "metadata")  # type: ignore[dict-item]
    _names(lambda: bus.publish("A", metadata={"n": HUGE}), InvalidEventError, "metadata")
    assert bus.get_history() == []


@pytest.mark.parametrize("source", [1, b"x", ["a"]])
def test_publish_refuses_a_source_that_is_no_str(source: object) -> None:
    _names(lambda: EventBus().publish("A", source=source), InvalidEventError, "source")  # type: ignore[arg-type]


def test_publish_copies_metadata_and_accepts_none() -> None:
    bus = EventBus()
    metadata: dict[str, JSON] = {"a": [1]}
    bus.publish("A", metadata=metadata)
    bus.publish("B", metadata=None)
    metadata["b"] = 2
    assert [e.metadata for e in bus.get_history(limit=None)] == [{}, {"a": [1]}]


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"id": ""}, "event id"),
        ({"id": 5}, "event id"),
        ({"timestamp": math.nan}, "event timestamp"),
        ({"timestamp": "now"}, "event timestamp"),
        ({"timestamp": True}, "event timestamp"),
        ({"replayed": 1}, "replayed"),
    ],
)
def test_events_are_checked_when_built(fields: dict[str, object], name: str) -> None:
    good: dict[str, object] = {"id": "e1", "type": "A", "data": None, "timestamp": 1.0}
    _names(lambda: Event(**{**good, **fields}), InvalidEventError, name)  # type: ignore[arg-type]


def test_publish_event_needs_an_event() -> None:
    _names(lambda: EventBus().publish_event({"id": "x"}), InvalidEventError, "Event")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["max_history", "max_errors", "dedupe_window"])
@pytest.mark.parametrize("value", [-1, "10", 1.5, None])
def test_bus_limits_are_ints(name: str, value: object) -> None:
    _names(lambda: EventBus(**{name: value}), InvalidArgumentError, name)  # type: ignore[arg-type]


def test_bus_calls_check_their_arguments() -> None:
    bus = EventBus()
    _names(lambda: bus.subscribe("A", 5), InvalidArgumentError, "handler")  # type: ignore[arg-type]
    _names(lambda: bus.add_middleware(None), InvalidArgumentError, "middleware")  # type: ignore[arg-type]
    _names(lambda: bus.add_guard("g"), InvalidArgumentError, "guard")  # type: ignore[arg-type]
    _names(lambda: bus.add_observer(1), InvalidArgumentError, "observer")  # type: ignore[arg-type]
    _names(lambda: bus.get_history(limit=-1), InvalidArgumentError, "limit")
    _names(lambda: bus.get_history(limit="3"), InvalidArgumentError, "limit")  # type: ignore[arg-type]
    bus.publish("A")
    assert bus.errors == []  # nothing bad was registered


def test_projector_calls_check_their_arguments() -> None:
    projector = StateProjector({})
    _names(lambda: projector.apply_delta({"a": 1}, description=5), InvalidDeltaError, "description")  # type: ignore[arg-type]
    _names(lambda: projector.apply_delta({"a": 1}, source=5), InvalidDeltaError, "source")  # type: ignore[arg-type]
    _names(lambda: projector.apply_delta({"a": 1}, tags=5), InvalidDeltaError, "tags")  # type: ignore[arg-type]
    _names(lambda: projector.apply_delta({"a": 1}, tags="ab"), InvalidDeltaError, "tags")
    _names(lambda: projector.apply_delta({"a": 1}, tags=[1]), InvalidDeltaError, "tags")  # type: ignore[list-item]
    _names(lambda: projector.apply_delta(5), InvalidDeltaError, "int")  # type: ignore[arg-type]
    assert projector.get_current_state() == {}
    assert projector.get_delta_history() == []
    _names(lambda: projector.add_guard(1), InvalidArgumentError, "guard")  # type: ignore[arg-type]
    _names(lambda: projector.add_observer(1), InvalidArgumentError, "observer")  # type: ignore[arg-type]
    _names(lambda: projector.add_projection(1, len), InvalidArgumentError, "name")  # type: ignore[arg-type]
    _names(lambda: projector.add_projection("p", 1), InvalidArgumentError, "fn")  # type: ignore[arg-type]
    _names(lambda: projector.project(["x"]), InvalidArgumentError, "name")  # type: ignore[arg-type]
    _names(lambda: projector.project(until="1"), InvalidArgumentError, "until")  # type: ignore[arg-type]
    _names(lambda: projector.get_delta_history(with_tags=5), InvalidArgumentError, "with_tags")  # type: ignore[arg-type]
    assert projector.apply_delta({"a": 1}, tags=("t",)) == 0
    assert projector.get_delta_history(with_tags=["t"])[0][0] == 0


LONE = "x\udc00"
"""Text no store can hold: a lone surrogate, as ``surrogateescape`` decoding makes."""


def test_text_arguments_refuse_a_lone_surrogate_where_passed() -> None:
    projector = StateProjector({})
    for call, name in [
        (lambda: projector.apply_delta({"a": 1}, description=LONE), "description"),
        (lambda: projector.apply_delta({"a": 1}, source=LONE), "source"),
        (lambda: projector.apply_delta({"a": 1}, tags=["ok", LONE]), "each of tags"),
    ]:
        _names(call, InvalidDeltaError, name)
    assert projector.get_delta_history() == []
    store = TemporalStore()
    _names(lambda: store.commit({}, description=LONE), InvalidArgumentError, "description")
    assert store.get_history() == []
    with pytest.raises(InvalidArgumentError, match="lone surrogate at index 1") as caught:
        store.commit({}, description=LONE)
    assert isinstance(caught.value.__cause__, UnicodeEncodeError)


def test_delta_metadata_is_checked_when_built() -> None:
    _names(lambda: DeltaMetadata(timestamp=1.0, index=-1), InvalidDeltaError, "index")
    _names(lambda: DeltaMetadata(timestamp=math.inf, index=0), InvalidDeltaError, "timestamp")


def test_temporal_store_calls_check_their_arguments() -> None:
    store = TemporalStore()
    _names(lambda: store.commit({}, description=1), InvalidArgumentError, "description")  # type: ignore[arg-type]
    _names(lambda: store.commit({}, expected_parent=1), InvalidArgumentError, "expected_parent")  # type: ignore[arg-type]
    assert store.get_history() == []
    version = store.commit({"a": 1})
    _names(lambda: store.get(["x"]), InvalidArgumentError, "version_id")  # type: ignore[arg-type]
    _names(lambda: store.get_version({}), InvalidArgumentError, "version_id")  # type: ignore[arg-type]
    _names(lambda: store.diff(version, 1), InvalidArgumentError, "version_b")  # type: ignore[arg-type]
    _names(lambda: store.revert(version, description=2), InvalidArgumentError, "description")  # type: ignore[arg-type]
    _names(lambda: store.state_at("now"), InvalidArgumentError, "timestamp")  # type: ignore[arg-type]
    _names(lambda: store.add_guard(1), InvalidArgumentError, "guard")  # type: ignore[arg-type]
    _names(lambda: store.add_observer(1), InvalidArgumentError, "observer")  # type: ignore[arg-type]
    assert [v.version_id for v in store.get_history()] == [version]


def test_perspective_calls_check_their_arguments() -> None:
    aware = PerspectiveAware({"a": 1})
    _names(lambda: aware.add_perspective(1, len), InvalidArgumentError, "name")  # type: ignore[arg-type]
    _names(lambda: aware.add_perspective("n", "len"), InvalidArgumentError, "fn")  # type: ignore[arg-type]
    _names(lambda: aware.view(["n"]), InvalidArgumentError, "name")  # type: ignore[arg-type]
    assert aware.get_available_perspectives() == []


def test_a_toml_integer_past_the_int_str_limit_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nerv.toml"
    path.write_text(f"[nerv]\nmax_history = {'1' * 5000}\n", encoding="utf-8")
    _names(lambda: Nerv.from_toml(path), ConfigError, "is not valid TOML")


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3) | st.integers(), st.integers() | st.floats(), max_size=2),
    st.sampled_from([4400, 5000]).map(lambda digits: 10**digits),
)


@given(_anything, _anything, _anything, _anything)
def test_publish_raises_only_typed_errors(
    event_type: object, data: object, source: object, metadata: object
) -> None:
    bus = EventBus()
    message = ""
    try:
        bus.publish(event_type, data, source, metadata)  # type: ignore[arg-type]
    except (NervError, DeltaError) as error:
        message = str(error)
    assert len(message) < 300
    assert len(bus.get_history()) == (0 if message else 1)


@given(_anything, _anything, _anything, _anything)
def test_apply_delta_raises_only_typed_errors(
    delta: object, description: object, source: object, tags: object
) -> None:
    projector = StateProjector({})
    refused = False
    try:
        projector.apply_delta(delta, description, source, tags)  # type: ignore[arg-type]
    except (NervError, DeltaError):
        refused = True
    assert len(projector.get_delta_history()) == (0 if refused else 1)
