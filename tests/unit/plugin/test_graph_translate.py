"""Entities and relations <-> the module's arguments and rows, its graph events as NERV
events, and refusals as typed graph errors; rows made by hand (the real-server tests cover the
module's side)."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import EventContext, EventKind, Identity, Row, Timestamp, Variant
from nerv_inner_universe.contract import ErrorCode, ReducerRefusedError
from nerv_inner_universe.nerv import (
    Entity,
    EventBus,
    GraphError,
    GraphInUseError,
    GraphNotFoundError,
    Relation,
)
from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.follower import Follower
from nerv_inner_universe.plugin.graph import translated
from nerv_inner_universe.plugin.graph_translate import (
    entity_from_row,
    entity_metadata_input,
    f32,
    graph_event_from_row,
    relation_from_row,
    relation_metadata_input,
)
from nerv_inner_universe.plugin.writer import refusal

T = Timestamp(1_700_000_000_000_000)
OWNER = Identity(7)


def entity_metadata_row(properties: str = '{"b":[1],"a":null}') -> Row:
    return Row(name="planner", description=None, tags=("x",), properties=properties)


def relation_metadata_row() -> Row:
    return Row(description="d", strength=0.25, bidirectional=True, tags=(), properties="{}")


def test_an_entity_goes_out_as_canonical_json_and_comes_back() -> None:
    entity = Entity(
        id="a", entity_type="agent", name="planner", tags=["x"], properties={"b": [1], "a": None}
    )
    assert entity_metadata_input(entity) == contract.EntityMetadata(
        name="planner", tags=("x",), properties='{"a":null,"b":[1]}'
    )
    row = Row(
        id="a",
        entity_type="agent",
        created_at=T,
        updated_at=T,
        owner=OWNER,
        metadata=entity_metadata_row(),
    )
    back = entity_from_row(row)
    assert back == Entity(
        id="a",
        entity_type="agent",
        name="planner",
        tags=("x",),
        properties={"b": [1], "a": None},
        created_at=T.seconds,
        updated_at=T.seconds,
        owner=OWNER.hex,
    )
    with pytest.raises(PersistenceError, match="no JSON object"):
        entity_from_row(Row(id="a", entity_type="agent", metadata=entity_metadata_row("[1]")))


def test_a_relation_goes_out_and_comes_back() -> None:
    relation = Relation(
        id="r",
        from_entity="a",
        to_entity="b",
        relation_type="uses",
        description="d",
        strength=0.25,
        bidirectional=True,
    )
    assert relation_metadata_input(relation) == contract.RelationMetadata(
        description="d", strength=0.25, bidirectional=True, properties="{}"
    )
    row = Row(
        id="r",
        from_entity="a",
        to_entity="b",
        relation_type="uses",
        created_at=T,
        updated_at=T,
        owner=OWNER,
        metadata=relation_metadata_row(),
    )
    assert relation_from_row(row) == Relation(
        id="r",
        from_entity="a",
        to_entity="b",
        relation_type="uses",
        description="d",
        strength=0.25,
        bidirectional=True,
        created_at=T.seconds,
        updated_at=T.seconds,
        owner=OWNER.hex,
    )


def log_row(seq: int, variant: str, payload: object, source: str | None = "a") -> Row:
    return Row(
        event_id=f"sys:{seq}",
        seq=seq,
        event_type="whatever the module named it",
        source=source,
        timestamp=T,
        occurred_at=T,
        sender=OWNER,
        data=Variant(variant, payload),
        metadata="{}",
    )


def test_the_modules_graph_events_become_recorded_nerv_events() -> None:
    created = graph_event_from_row(
        log_row(
            3,
            "EntityCreated",
            Row(entity_id="a", entity_type="agent", metadata=entity_metadata_row()),
        )
    )
    assert created is not None
    assert (created.id, created.type, created.source, created.timestamp) == (
        "sys:3",
        "ENTITY_CREATED",
        "a",
        T.seconds,
    )
    assert created.replayed
    assert created.data == {
        "entity_id": "a",
        "entity_type": "agent",
        "metadata": {
            "name": "planner",
            "description": None,
            "tags": ["x"],
            "properties": {"a": None, "b": [1]},
        },
    }
    relation = graph_event_from_row(
        log_row(
            4,
            "RelationCreated",
            Row(
                relation_id="r",
                from_entity="a",
                to_entity="b",
                relation_type="uses",
                metadata=relation_metadata_row(),
            ),
        )
    )
    assert relation is not None
    assert relation.type == "RELATION_CREATED"
    assert relation.data["metadata"] == {
        "description": "d",
        "strength": 0.25,
        "bidirectional": True,
        "tags": [],
        "properties": {},
    }
    updated = graph_event_from_row(
        log_row(5, "EntityUpdated", Row(entity_id="a", changed_fields=("metadata.name",)))
    )
    assert updated is not None
    assert (updated.type, updated.data) == (
        "ENTITY_UPDATED",
        {"entity_id": "a", "changed_fields": ["metadata.name"]},
    )
    deleted = graph_event_from_row(
        log_row(
            6,
            "RelationDeleted",
            Row(relation_id="r", from_entity="a", to_entity="b", relation_type="uses"),
        )
    )
    assert deleted is not None
    assert (deleted.type, deleted.data) == (
        "RELATION_DELETED",
        {"relation_id": "r", "from_entity": "a", "to_entity": "b", "relation_type": "uses"},
    )
    assert graph_event_from_row(log_row(7, "Custom", "{}")) is None
    assert graph_event_from_row(log_row(8, "StateVersionCommitted", Row(version_id="v"))) is None


def test_the_follower_delivers_graph_events_of_every_process_in_log_order() -> None:
    bus = EventBus()
    # This process wrote every client event (the recorder answers False for the ids it
    # published, never a module event's `sys:<seq>`): graph events still go, its own do not.
    follow = Follower(bus, lambda event_id: event_id.startswith("sys:"))
    follow._thread.start()
    ctx = EventContext(EventKind.REDUCER)
    follow._on_inserts(ctx, [log_row(2, "EntityDeleted", Row(entity_id="a", entity_type="agent"))])
    follow._on_inserts(ctx, [log_row(1, "EntityUpdated", Row(entity_id="a", changed_fields=()))])
    follow._on_inserts(ctx, [Row(**{**log_row(3, "Json", "{}"), "event_id": "e3"})])
    follow.stop()
    assert [(e.id, e.type) for e in reversed(bus.get_history())] == [
        ("sys:1", "ENTITY_UPDATED"),
        ("sys:2", "ENTITY_DELETED"),
    ]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (ErrorCode.NOT_FOUND, GraphNotFoundError),
        (ErrorCode.IN_USE, GraphInUseError),
        (None, GraphError),
    ],
)
def test_refusals_become_graph_errors(code: ErrorCode | None, kind: type[GraphError]) -> None:
    text = "entity 'a' is busy" if code is None else f"{code}: entity 'a' is busy"
    cause = ReducerRefusedError("delete_entity", text)
    error = translated(refusal("delete entity 'a'", cause))
    assert type(error) is kind
    assert isinstance(error, GraphError)
    assert error.code == (None if code is None else code.value)
    assert "delete entity 'a'" in str(error)
    assert error.__cause__ is cause
    trouble = PersistenceError("down")
    assert translated(trouble) is trouble


def test_a_strength_is_sent_as_the_32_bit_float_the_module_stores() -> None:
    sent = relation_metadata_input(
        Relation(from_entity="a", to_entity="b", relation_type="t", strength=0.8)
    )
    assert sent.strength != 0.8
    assert sent.strength == f32(sent.strength)
    assert abs(sent.strength - 0.8) < 1e-7
