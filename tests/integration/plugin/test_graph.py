"""Entities and relations through NERV on the real module: the store's round trips and typed
refusals, the EventBus flow, and every change reaching every runtime's bus once, in log order."""

from __future__ import annotations

import asyncio
import functools

import pytest

from benchmarks.chaos import Proxy
from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.delta import JSON, canonical_json
from nerv_inner_universe.nerv import (
    Entity,
    Event,
    GraphAlreadyExistsError,
    GraphInUseError,
    GraphNotFoundError,
    GraphPermissionError,
    InvalidGraphArgumentError,
    Nerv,
    Relation,
)
from nerv_inner_universe.nerv.graph_events import GRAPH_EVENT_TYPES
from nerv_inner_universe.plugin import InnerUniverseRecorder, PersistenceError
from nerv_inner_universe.plugin.graph import graph_write_stored
from nerv_inner_universe.plugin.graph_translate import (
    entity_metadata_input,
    relation_metadata_input,
)
from tests.integration.http_api import Database, entity_metadata, relation_metadata
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config, wait_for


def graph_events(runtime: Nerv) -> list[Event]:
    """The graph events on ``runtime``'s bus, oldest first."""
    history = reversed(runtime.event_bus.get_history(limit=None))
    return [event for event in history if event.type in GRAPH_EVENT_TYPES]


def has_events(runtime: Nerv, count: int) -> bool:
    return len(graph_events(runtime)) >= count


def logged_graph_events(db: Database) -> list[tuple[str, str]]:
    """``(event_id, event_type)`` of the module's graph events, in log order."""
    rows = sorted(db.sql("SELECT * FROM event_log"), key=lambda row: row["seq"])
    return [
        (row["event_id"], row["event_type"])
        for row in rows
        if row["event_type"] in GRAPH_EVENT_TYPES
    ]


PROPERTIES: dict[str, JSON] = {"nested": {"b": [1, 2.5, None, True], "a": "ünïcode"}, "n": 3}


def test_round_trips_and_typed_refusals(inner_universe: Database, runtimes: RuntimeFactory) -> None:
    runtime = runtimes(nerv_config(inner_universe, events="sync"))
    graph = runtime.graph_store
    planner = Entity(entity_type="agent", name="planner", tags=["core"], properties=PROPERTIES)
    search = Entity(entity_type="tool", id="tool.search", description="web search")
    assert graph.create_entity(planner) == planner.id
    assert graph.create_entity(search) == "tool.search"
    uses = Relation(
        from_entity=planner.id, to_entity="tool.search", relation_type="uses", strength=0.5
    )
    assert graph.create_relation(uses) == uses.id

    # A sync write is in the view when it returns; the server filled in times and owner.
    stored = graph.view.get_entity(planner.id)
    assert stored is not None
    assert (stored.entity_type, stored.name, stored.tags, stored.properties) == (
        "agent",
        "planner",
        ("core",),
        PROPERTIES,
    )
    assert stored.created_at is not None
    assert stored.owner is not None
    row = inner_universe.sql(f"SELECT * FROM entity WHERE id = '{planner.id}'")[0]  # noqa: S608
    assert row["metadata"][3] == canonical_json(PROPERTIES)  # the SQL API gives products as lists
    assert [e.id for e in graph.view.find_entities("tool")] == ["tool.search"]
    assert graph.view.neighbours(planner.id, "out") == [graph.view.get_entity("tool.search")]
    assert graph.view.neighbours("tool.search", "in", "uses") == [stored]
    assert graph.view.neighbours("tool.search", "in", "owns") == []
    relation = graph.view.get_relation(uses.id)
    assert relation is not None
    assert relation.strength == 0.5

    # Creating the same again changes nothing; other content under the id is refused.
    graph.create_entity(search)
    with pytest.raises(GraphAlreadyExistsError) as taken:
        graph.create_entity(Entity(entity_type="tool", id="tool.search", name="other"))
    assert taken.value.code == "already_exists"
    with pytest.raises(GraphNotFoundError) as missing:
        graph.create_relation(
            Relation(from_entity=planner.id, to_entity="nobody", relation_type="uses")
        )
    assert "nobody" in str(missing.value)
    with pytest.raises(GraphNotFoundError):
        graph.update_entity(Entity(entity_type="tool", id="never.created"))
    with pytest.raises(GraphInUseError) as in_use:
        graph.delete_entity("tool.search")
    assert in_use.value.code == "in_use"
    with pytest.raises(InvalidGraphArgumentError):
        graph.create_entity(Entity(entity_type="bad type!"))
    with pytest.raises(InvalidGraphArgumentError):
        graph.update_relation(
            Relation(
                id=uses.id, from_entity="tool.search", to_entity=planner.id, relation_type="uses"
            )
        )

    # Another identity may not change what it does not own.
    other = runtimes(nerv_config(inner_universe, events="sync", token=inner_universe.new_writer()))
    wait_for(lambda: other.graph_store.view.get_entity(planner.id) is not None, "the other view")
    with pytest.raises(GraphPermissionError) as denied:
        other.graph_store.update_entity(Entity(entity_type="agent", id=planner.id, name="stolen"))
    assert denied.value.code == "permission_denied"

    # Update, then delete in order; the view follows each step.
    graph.update_entity(Entity(entity_type="tool", id="tool.search", name="search v2"))
    renamed = graph.view.get_entity("tool.search")
    assert renamed is not None
    assert (renamed.name, renamed.description) == ("search v2", None)
    graph.update_relation(
        Relation(
            id=uses.id, from_entity=planner.id, to_entity="tool.search", relation_type="relies_on"
        )
    )
    assert graph.view.neighbours(planner.id, "out", "relies_on") == [renamed]
    graph.delete_relation(uses.id)
    graph.delete_entity("tool.search")
    assert graph.view.get_entity("tool.search") is None
    assert graph.view.relations(planner.id) == []
    assert inner_universe.sql("SELECT * FROM relation") == []


def test_async_refusals_surface_on_flush(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    runtime = runtimes(nerv_config(inner_universe, events="async"))
    recorder = runtime.recorder
    assert recorder is not None
    runtime.graph_store.delete_entity("not.there")  # queued: returns at once
    with pytest.raises(PersistenceError) as through_api:
        recorder.flush()
    assert isinstance(through_api.value.__cause__, GraphNotFoundError)

    runtime.event_bus.publish("RELATION_DELETED", {"relation_id": "not.there"})
    with pytest.raises(PersistenceError) as through_bus:
        recorder.flush()
    assert isinstance(through_bus.value.__cause__, GraphNotFoundError)
    # A malformed request is refused at once, in any mode, and nothing is queued.
    with pytest.raises(InvalidGraphArgumentError):
        runtime.event_bus.publish("ENTITY_CREATED", {"entity_type": "agent", "colour": "red"})
    recorder.flush()


def test_sync_bus_request_raises_the_refusal(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    runtime = runtimes(nerv_config(inner_universe, events="sync"))
    with pytest.raises(GraphNotFoundError):
        runtime.event_bus.publish("ENTITY_DELETED", {"entity_id": "not.there"})
    assert graph_events(runtime) == []
    assert logged_graph_events(inner_universe) == []


def test_every_change_reaches_every_bus_once_in_log_order(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    config = nerv_config(db, events="sync")
    alice, bob = runtimes(config), runtimes(config)

    # Alice through the store, Alice through the bus, a raw client through the module.
    alice.graph_store.create_entity(Entity(entity_type="agent", id="agent.a", name="a"))
    alice.event_bus.publish(
        "ENTITY_CREATED",
        {"entity_id": "tool.t", "entity_type": "tool", "metadata": {"properties": {"k": [1]}}},
    )
    db.ok("create_entity", "raw.r", "note", entity_metadata(name="raw", properties='{"x":1}'))
    alice.event_bus.publish(
        "RELATION_CREATED",
        {
            "relation_id": "a-uses-t",
            "from_entity": "agent.a",
            "to_entity": "tool.t",
            "relation_type": "uses",
        },
    )
    db.ok("create_relation", "r-about-a", "raw.r", "agent.a", "about", relation_metadata(0.25))
    alice.graph_store.update_entity(Entity(entity_type="agent", id="agent.a", name="a2"))
    alice.event_bus.publish("RELATION_DELETED", {"relation_id": "a-uses-t"})
    alice.event_bus.publish("ENTITY_DELETED", {"entity_id": "tool.t"})

    logged = logged_graph_events(db)
    assert [kind for _, kind in logged] == [
        "ENTITY_CREATED",
        "ENTITY_CREATED",
        "ENTITY_CREATED",
        "RELATION_CREATED",
        "RELATION_CREATED",
        "ENTITY_UPDATED",
        "RELATION_DELETED",
        "ENTITY_DELETED",
    ]
    seqs = {row["event_id"]: row["seq"] for row in db.sql("SELECT * FROM event_log")}
    assert isinstance(alice.recorder, InnerUniverseRecorder)
    owner = alice.recorder.identity
    for runtime in (alice, bob):
        wait_for(functools.partial(has_events, runtime, len(logged)), "the graph events")
        received = graph_events(runtime)
        # Once each (the published requests themselves never reach the bus), in log order.
        assert [(e.id, e.type) for e in received] == logged
        assert all(event.replayed for event in received)
        # Each carries its writer (here every write is the database owner's) and its seq.
        assert {event.sender for event in received} == {owner}
        assert [event.position for event in received] == [seqs[e.id] for e in received]
    created = {e.source: e.data for e in graph_events(bob) if e.type == "ENTITY_CREATED"}
    assert created["tool.t"] == {
        "entity_id": "tool.t",
        "entity_type": "tool",
        "metadata": {"name": None, "description": None, "tags": [], "properties": {"k": [1]}},
    }
    assert created["raw.r"]["metadata"]["properties"] == {"x": 1}
    updated = next(e for e in graph_events(bob) if e.type == "ENTITY_UPDATED")
    assert updated.data == {"entity_id": "agent.a", "changed_fields": ["metadata.name"]}

    # Bob's view reflects all of it.
    view = bob.graph_store.view
    wait_for(lambda: view.get_entity("tool.t") is None, "bob's view")
    agent = view.get_entity("agent.a")
    assert agent is not None
    assert agent.name == "a2"
    assert view.get_relation("a-uses-t") is None
    assert [e.id for e in view.neighbours("agent.a", "in", "about")] == ["raw.r"]
    assert view.neighbours("agent.a", "out") == []
    assert [e.id for e in view.find_entities("note")] == ["raw.r"]


def test_the_writer_can_tell_which_graph_writes_the_server_shows(inner_universe: Database) -> None:
    """`graph_write_stored`: what the writer asks after a connection drop, per graph reducer."""
    entity = Entity(entity_type="agent", id="a", properties={"k": 1})
    renamed = Entity(entity_type="agent", id="a", name="renamed")
    relation = Relation(id="r", from_entity="a", to_entity="a", relation_type="self", strength=0.8)
    weaker = Relation(id="r", from_entity="a", to_entity="a", relation_type="self", strength=0.3)
    metadata = entity_metadata_input
    calls = {
        "create a": contract.create_entity(
            entity_id="a", entity_type="agent", metadata=metadata(entity)
        ),
        "rename a": contract.update_entity(
            entity_id="a", entity_type="agent", metadata=metadata(renamed)
        ),
        "delete a": contract.delete_entity(entity_id="a"),
        "create r": contract.create_relation(
            relation_id="r",
            from_entity="a",
            to_entity="a",
            relation_type="self",
            metadata=relation_metadata_input(relation),
        ),
        "weaken r": contract.update_relation(
            relation_id="r", relation_type="self", metadata=relation_metadata_input(weaker)
        ),
        "delete r": contract.delete_relation(relation_id="r"),
    }

    async def scenario() -> list[dict[str, bool | None]]:
        async with DbConnection(
            inner_universe.base_url, inner_universe.name, token=inner_universe.token
        ) as connection:

            async def shown() -> dict[str, bool | None]:
                return {
                    what: await graph_write_stored(connection, call) for what, call in calls.items()
                }

            seen = [await shown()]
            for what in ("create a", "create r"):
                await calls[what].send(connection)
            seen.append(await shown())
            for what in ("rename a", "weaken r", "delete r"):
                await calls[what].send(connection)
            seen.append(await shown())
            other = await graph_write_stored(connection, contract.set_client_info(client_info="x"))
            assert other is None
            return seen

    before, created, changed = asyncio.run(scenario())
    assert before == {
        "create a": False,
        "rename a": False,
        "delete a": True,
        "create r": False,
        "weaken r": False,
        "delete r": True,
    }
    # A created relation of strength 0.8 reads back as the same 32-bit float: it shows.
    assert created == {
        "create a": True,
        "rename a": False,
        "delete a": False,
        "create r": True,
        "weaken r": False,
        "delete r": False,
    }
    assert changed == {
        "create a": True,
        "rename a": True,
        "delete a": False,
        "create r": False,
        "weaken r": False,
        "delete r": True,
    }


def test_after_a_connection_cut_no_graph_write_is_sent_again(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    """The server kept every graph write through a mere cut: the writer sees that and sends
    none again (a re-sent delete would be refused, a re-sent update could undo another's)."""
    proxy = Proxy(inner_universe.server.port)
    try:
        config = nerv_config(
            inner_universe,
            url=f"http://127.0.0.1:{proxy.port}",
            events="sync",
            durability_window=600.0,
        )
        runtime = runtimes(config)
        recorder = runtime.recorder
        assert isinstance(recorder, InnerUniverseRecorder)
        reconnects: list[object] = []
        recorder._connection.on_connect(lambda *_: reconnects.append(None))
        graph = runtime.graph_store
        graph.create_entity(Entity(entity_type="agent", id="a"))
        graph.create_entity(Entity(entity_type="agent", id="b"))
        graph.create_relation(
            Relation(id="r", from_entity="a", to_entity="b", relation_type="knows")
        )
        graph.update_entity(Entity(entity_type="agent", id="a", name="renamed"))
        graph.delete_relation("r")
        graph.delete_entity("b")
        assert recorder.health().writer.retained == 6
        assert proxy.cut() > 0
        wait_for(lambda: bool(reconnects), "the reconnect")
        recorder.flush()  # after the check of what the drop may have lost
        health = recorder.health().writer
        assert (health.resent, health.unrestorable) == (0, 0)
        assert [row["id"] for row in inner_universe.sql("SELECT * FROM entity")] == ["a"]
        assert graph.view.get_entity("b") is None
        runtime.stop()  # while the proxy still forwards the goodbye
    finally:
        proxy.close()
