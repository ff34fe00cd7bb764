"""Faults a new user found in the graph API and live delivery (issue 11), against the real
server: a guard's veto neither stops live delivery nor lets a graph request through, a
relation's endpoints never change, and the store's methods refuse wrong argument types."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import (
    Entity,
    Event,
    InvalidGraphArgumentError,
    Nerv,
    Relation,
)
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import Database, relation_metadata
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config, wait_for


def veto_entity_created(event: Event) -> None:
    if event.type == "ENTITY_CREATED":
        raise PermissionError("this guard allows no new entities")


def recorder_of(runtime: Nerv) -> InnerUniverseRecorder:
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    return recorder


def test_a_guard_refusing_a_delivered_event_does_not_stop_delivery(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="sync")
    alice, bob = runtimes(config), runtimes(config)
    alice.event_bus.add_guard(veto_entity_created)
    got: list[str] = []
    alice.event_bus.subscribe("*", lambda event: got.append(event.type))

    bob.graph_store.create_entity(Entity(entity_type="g", id="g1"))  # alice's guard refuses it
    bob.event_bus.publish("PLAIN", {"n": 1})
    bob.graph_store.update_entity(Entity(entity_type="g", id="g1", name="renamed"))
    bob.event_bus.publish("PLAIN", {"n": 2})

    wait_for(lambda: got.count("PLAIN") == 2, "bob's events after the refused one")
    assert got == ["PLAIN", "ENTITY_UPDATED", "PLAIN"]
    health = recorder_of(alice).health()
    assert health.remote_events_refused == 1
    assert health.remote_events_delivered == 3
    assert health.connected
    assert alice.event_bus.errors == []  # a veto is no handler failure
    # Alice's own changes are confirmed on her bus as before.
    alice.graph_store.update_entity(Entity(entity_type="g", id="g1", name="alice's"))
    wait_for(lambda: got.count("ENTITY_UPDATED") == 2, "alice's own confirmation")


@pytest.mark.parametrize("events", ["sync", "async"])
def test_a_guard_vetoes_a_graph_request_published_on_the_bus(
    inner_universe: Database, runtimes: RuntimeFactory, events: str
) -> None:
    runtime = runtimes(nerv_config(inner_universe, events=events))
    runtime.event_bus.add_guard(veto_entity_created)
    with pytest.raises(PermissionError, match="no new entities"):
        runtime.event_bus.publish("ENTITY_CREATED", {"entity_id": "e1", "entity_type": "g"})
    runtime.event_bus.publish("PLAIN", {"after": "the veto"})
    recorder_of(runtime).flush()
    assert inner_universe.sql("SELECT * FROM entity") == []
    logged = sorted(inner_universe.sql("SELECT * FROM event_log"), key=lambda row: row["seq"])
    assert [row["event_type"] for row in logged][-1:] == ["PLAIN"]
    assert "ENTITY_CREATED" not in [row["event_type"] for row in logged]  # nor recorded
    assert runtime.graph_store.view.get_entity("e1") is None


def test_changed_endpoints_are_refused_for_a_relation_another_process_just_created(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="sync")
    alice, bob = runtimes(config), runtimes(config)
    for name in ("a", "b", "c"):
        bob.graph_store.create_entity(Entity(entity_type="node", id=name))

    # Created by bob, updated by alice at once: her view may not have it yet.
    bob.graph_store.create_relation(
        Relation(id="r1", from_entity="a", to_entity="b", relation_type="r")
    )
    with pytest.raises(InvalidGraphArgumentError, match="endpoints cannot change"):
        alice.graph_store.update_relation(
            Relation(id="r1", from_entity="c", to_entity="b", relation_type="moved")
        )

    # Created outside any runtime (a reducer call over HTTP), then updated at once.
    inner_universe.ok("create_relation", "r2", "a", "b", "r", relation_metadata())
    with pytest.raises(InvalidGraphArgumentError, match="endpoints cannot change"):
        alice.graph_store.update_relation(
            Relation(id="r2", from_entity="c", to_entity="b", relation_type="moved")
        )

    rows = sorted(inner_universe.sql("SELECT * FROM relation"), key=lambda row: row["id"])
    assert [(r["id"], r["from_entity"], r["to_entity"], r["relation_type"]) for r in rows] == [
        ("r1", "a", "b", "r"),
        ("r2", "a", "b", "r"),
    ]
    # The same endpoints are accepted, whether or not the view has caught up.
    alice.graph_store.update_relation(
        Relation(id="r2", from_entity="a", to_entity="b", relation_type="same_ends")
    )
    assert inner_universe.sql("SELECT * FROM relation WHERE id = 'r2'")[0]["relation_type"] == (
        "same_ends"
    )


ENTITY = Entity(entity_type="node", id="n")
RELATION = Relation(id="r", from_entity="n", to_entity="n", relation_type="self")


WRONG_TYPES = [
    ("create_entity", {"entity_type": "node"}, "an Entity"),
    ("create_entity", None, "an Entity"),
    ("create_entity", RELATION, "an Entity"),
    ("update_entity", "n", "an Entity"),
    ("update_entity", RELATION, "an Entity"),
    ("create_relation", ENTITY, "a Relation"),
    ("create_relation", None, "a Relation"),
    ("update_relation", None, "a Relation"),
    ("update_relation", 5, "a Relation"),
    ("update_relation", ["r"], "a Relation"),
    ("delete_entity", None, "a non-empty str"),
    ("delete_entity", ENTITY, "a non-empty str"),
    ("delete_relation", 5, "a non-empty str"),
    ("delete_relation", RELATION, "a non-empty str"),
]


def test_every_store_method_refuses_a_wrong_argument_type(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    runtime = runtimes(nerv_config(inner_universe, events="sync"))
    for method, argument, expected in WRONG_TYPES:
        call: Callable[[object], object] = getattr(runtime.graph_store, method)
        with pytest.raises(InvalidGraphArgumentError, match=f"must be {expected}, not"):
            call(argument)
    recorder_of(runtime).flush()
    assert inner_universe.sql("SELECT * FROM entity") == []
    assert inner_universe.sql("SELECT * FROM relation") == []
