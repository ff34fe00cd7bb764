"""The graph's pure parts: Entity/Relation checks, error codes, the local view, the EventBus
request shapes and the middleware, and the runtime's wiring of a plugin's store."""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import pytest

from nerv_inner_universe.delta import JSON, MAX_DEPTH, InvalidValueError
from nerv_inner_universe.nerv import (
    Entity,
    Event,
    EventBus,
    GraphAlreadyExistsError,
    GraphError,
    GraphInUseError,
    GraphNotFoundError,
    GraphPermissionError,
    GraphView,
    InvalidGraphArgumentError,
    LifecycleError,
    Nerv,
    Relation,
    hookimpl,
)
from nerv_inner_universe.nerv.graph import graph_error
from nerv_inner_universe.nerv.graph_events import (
    GraphRequest,
    entity_data,
    graph_middleware,
    graph_request,
    relation_data,
)


class FakeStore:
    """Records the writes it is asked for (a GraphStore for the middleware)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.view = GraphView()

    def create_entity(self, entity: Entity) -> str:
        self.calls.append(("create_entity", entity))
        return entity.id

    def update_entity(self, entity: Entity) -> None:
        self.calls.append(("update_entity", entity))

    def delete_entity(self, entity_id: str) -> None:
        self.calls.append(("delete_entity", entity_id))

    def create_relation(self, relation: Relation) -> str:
        self.calls.append(("create_relation", relation))
        return relation.id

    def update_relation(self, relation: Relation) -> None:
        self.calls.append(("update_relation", relation))

    def delete_relation(self, relation_id: str) -> None:
        if relation_id == "refused":
            raise GraphNotFoundError("relation 'refused' does not exist")
        self.calls.append(("delete_relation", relation_id))


def test_entities_and_relations_check_their_fields() -> None:
    entity = Entity(entity_type="agent", tags=["a"], properties={"k": [1, None]})
    assert entity.tags == ("a",)
    assert len(entity.id) == 36  # a fresh uuid4
    assert Entity(entity_type="agent").id != entity.id
    with pytest.raises(InvalidGraphArgumentError, match="entity_type"):
        Entity(entity_type="")
    with pytest.raises(InvalidGraphArgumentError, match="tags"):
        Entity(entity_type="agent", tags="ab")
    with pytest.raises(InvalidGraphArgumentError, match="properties"):
        Entity(entity_type="agent", properties=[1])
    with pytest.raises(InvalidGraphArgumentError, match="strength"):
        Relation(from_entity="a", to_entity="b", relation_type="uses", strength=1.5)
    with pytest.raises(InvalidGraphArgumentError, match="bidirectional"):
        Relation(from_entity="a", to_entity="b", relation_type="uses", bidirectional=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidGraphArgumentError, match="created_at"):
        Entity(entity_type="agent", created_at=math.inf)
    for text_field in ["entity_type", "id"]:  # text no store can hold: a lone surrogate
        with pytest.raises(InvalidGraphArgumentError, match=f"{text_field} .*lone surrogate"):
            Entity(**{"entity_type": "agent", text_field: "a\udc00"})  # type: ignore[arg-type]
    with pytest.raises(InvalidGraphArgumentError, match=r"each of tags .*lone surrogate"):
        Entity(entity_type="agent", tags=["\ud800"])
    with pytest.raises(InvalidGraphArgumentError, match=r"relation_type .*lone surrogate"):
        Relation(from_entity="a", to_entity="b", relation_type="\udfff")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("not_found", GraphNotFoundError),
        ("already_exists", GraphAlreadyExistsError),
        ("in_use", GraphInUseError),
        ("permission_denied", GraphPermissionError),
        ("invalid_argument", InvalidGraphArgumentError),
    ],
)
def test_each_code_has_its_error(code: str, kind: type[GraphError]) -> None:
    error = graph_error(code, "why")
    assert type(error) is kind
    assert (error.code, str(error)) == (code, "why")


def test_other_codes_keep_their_code() -> None:
    error = graph_error("resource_exhausted", "full")
    assert type(error) is GraphError
    assert error.code == "resource_exhausted"
    assert graph_error(None, "panic").code is None


def test_the_view_indexes_by_type_and_endpoint() -> None:
    view = GraphView()
    a = Entity(entity_type="agent", id="a", created_at=1.0)
    t = Entity(entity_type="tool", id="t", created_at=2.0)
    n = Entity(entity_type="note", id="n", created_at=3.0)
    for entity in (a, t, n):
        view.put_entity(entity)
    uses = Relation(id="r1", from_entity="a", to_entity="t", relation_type="uses", created_at=4.0)
    about = Relation(id="r2", from_entity="n", to_entity="a", relation_type="about", created_at=5.0)
    view.put_relation(uses)
    view.put_relation(about)
    assert view.relations("a") == [uses, about]
    assert view.relations("a", "out") == [uses]
    assert view.relations("a", "in") == [about]
    assert view.relations("a", "both", "about") == [about]
    assert view.neighbours("a") == [t, n]
    assert view.neighbours("t", "in") == [a]
    assert view.neighbours("t", "out") == []
    with pytest.raises(InvalidGraphArgumentError, match="direction"):
        view.relations("a", "sideways")  # type: ignore[arg-type]

    # A replaced entity moves between type indexes; a dropped relation leaves both endpoints.
    view.put_entity(Entity(entity_type="tool", id="a", created_at=1.0))
    assert [e.id for e in view.find_entities("tool")] == ["a", "t"]
    assert view.find_entities("agent") == []
    view.drop_relation("r1")
    assert view.relations("t") == []
    assert view.relations("a") == [about]
    view.drop_entity("n")
    assert view.neighbours("a") == []  # an endpoint not in the view is left out
    view.drop_entity("missing")
    view.clear()
    assert view.get_entity("t") is None
    assert view.get_relation("r2") is None


def test_perspectives_follow_the_view() -> None:
    view = GraphView()
    agents = view.perspectives("agent")
    assert view.perspectives("agent") is agents
    agents.add_perspective("names", lambda entities: [e.name for e in entities])
    view.put_entity(Entity(entity_type="agent", id="a", name="planner", created_at=1.0))
    view.put_entity(Entity(entity_type="tool", id="t"))
    assert agents.view("names") == ["planner"]
    view.put_entity(Entity(entity_type="agent", id="a", name="critic", created_at=1.0))
    assert agents.view("names") == ["critic"]
    view.put_entity(Entity(entity_type="tool", id="a"))  # moved to another type
    assert agents.view() == []


def test_requests_parse_the_documented_shapes() -> None:
    created = graph_request(
        Event.create(
            "ENTITY_CREATED",
            {"entity_id": "a", "entity_type": "agent", "metadata": {"name": "p", "tags": ["x"]}},
        )
    )
    assert created == GraphRequest(
        "ENTITY_CREATED", entity=Entity(id="a", entity_type="agent", name="p", tags=("x",))
    )
    fresh = graph_request(Event.create("ENTITY_CREATED", {"entity_type": "agent"}))
    assert fresh is not None
    assert fresh.entity is not None
    assert len(fresh.entity.id) == 36
    relation = Relation(
        id="r", from_entity="a", to_entity="b", relation_type="uses", strength=0.5, tags=("t",)
    )
    assert graph_request(Event.create("RELATION_UPDATED", relation_data(relation))) == GraphRequest(
        "RELATION_UPDATED", relation=relation
    )
    entity = Entity(id="a", entity_type="agent", description="d", properties={"k": {"n": 1}})
    assert graph_request(Event.create("ENTITY_UPDATED", entity_data(entity))) == GraphRequest(
        "ENTITY_UPDATED", entity=entity
    )
    assert graph_request(Event.create("ENTITY_DELETED", {"entity_id": "a"})) == GraphRequest(
        "ENTITY_DELETED", deleted_id="a"
    )
    assert graph_request(Event.create("CHAT", {"entity_id": "a"})) is None


@pytest.mark.parametrize(
    ("event_type", "data", "complaint"),
    [
        ("ENTITY_CREATED", ["agent"], "must be a dict"),
        ("ENTITY_CREATED", {}, "lacks \\['entity_type'\\]"),
        ("ENTITY_UPDATED", {"entity_type": "agent"}, "lacks \\['entity_id'\\]"),
        ("ENTITY_CREATED", {"entity_type": "agent", "colour": 1}, "unknown field"),
        ("ENTITY_CREATED", {"entity_type": "a", "metadata": {"strength": 1}}, "unknown field"),
        ("RELATION_CREATED", {"from_entity": "a", "to_entity": "b"}, "relation_type"),
        ("RELATION_DELETED", {"relation_id": 3}, "non-empty str"),
        ("ENTITY_DELETED", {"entity_id": "a", "entity_type": "x"}, "unknown field"),
        ("ENTITY_CREATED", {"entity_type": 7}, "entity_type"),
    ],
)
def test_malformed_requests_are_refused(event_type: str, data: object, complaint: str) -> None:
    with pytest.raises(InvalidGraphArgumentError, match=complaint):
        graph_request(Event.create(event_type, data))


def test_the_middleware_performs_requests_and_drops_them() -> None:
    store = FakeStore()
    bus = EventBus()
    bus.add_middleware(graph_middleware(store, bus.check_guards))
    bus.publish("ENTITY_DELETED", {"entity_id": "a"})
    bus.publish("CHAT", {"n": 1})
    assert store.calls == [("delete_entity", "a")]
    assert [e.type for e in bus.get_history()] == ["CHAT"]
    with pytest.raises(GraphNotFoundError):
        bus.publish("RELATION_DELETED", {"relation_id": "refused"})
    # Confirmations (recorded copies) skip the middleware and reach the handlers.
    confirmation = Event.create("ENTITY_DELETED", {"entity_id": "a", "entity_type": "x"})
    bus.publish_event(attrs.evolve(confirmation, replayed=True))
    assert [e.type for e in bus.get_history()] == ["ENTITY_DELETED", "CHAT"]
    assert store.calls == [("delete_entity", "a")]


def veto_graph(event: Event) -> None:
    if event.type.startswith(("ENTITY_", "RELATION_")):
        raise PermissionError(f"no graph changes: {event.type}")


def test_a_guard_vetoes_a_graph_request_before_anything_is_written() -> None:
    store = FakeStore()
    bus = EventBus()
    bus.add_middleware(graph_middleware(store, bus.check_guards))
    bus.add_guard(veto_graph)
    for event_type, data in [
        ("ENTITY_CREATED", {"entity_id": "a", "entity_type": "agent"}),
        ("ENTITY_UPDATED", {"entity_id": "a", "entity_type": "agent"}),
        ("ENTITY_DELETED", {"entity_id": "a"}),
        ("RELATION_CREATED", {"from_entity": "a", "to_entity": "b", "relation_type": "r"}),
        (
            "RELATION_UPDATED",
            {"relation_id": "r", "from_entity": "a", "to_entity": "b", "relation_type": "r"},
        ),
        ("RELATION_DELETED", {"relation_id": "r"}),
    ]:
        with pytest.raises(PermissionError, match=event_type):
            bus.publish(event_type, data)
    assert store.calls == []
    assert bus.get_history() == []
    bus.publish("CHAT", {"n": 1})  # other events are guarded as before: this one passes
    assert [e.type for e in bus.get_history()] == ["CHAT"]


def test_the_runtime_asks_guards_before_a_graph_request() -> None:
    store = FakeStore()
    with Nerv(plugins=[GraphPlugin(store)]) as runtime:
        runtime.event_bus.add_guard(veto_graph)
        with pytest.raises(PermissionError):
            runtime.event_bus.publish("ENTITY_CREATED", {"entity_id": "a", "entity_type": "x"})
        assert store.calls == []


def _nested(depth: int) -> JSON:
    value: JSON = []
    for _ in range(depth):
        value = [value]
    return value


NOT_JSON = {
    "nan": math.nan,
    "inf": math.inf,
    "non-str key": {1: "x"},
    "set": {1, 2},
    "int beyond 64 bits": 2**64,
    "lone surrogate": "\ud800",
    "too deep": _nested(MAX_DEPTH + 1),
}


def _refused_properties(build: Callable[[], object]) -> InvalidGraphArgumentError:
    with pytest.raises(InvalidGraphArgumentError, match="properties") as caught:
        build()
    assert isinstance(caught.value, GraphError)
    assert isinstance(caught.value.__cause__, InvalidValueError)
    return caught.value


@pytest.mark.parametrize("bad", list(NOT_JSON.values()), ids=list(NOT_JSON))
def test_non_json_properties_raise_a_graph_error_naming_the_field(bad: object) -> None:
    _refused_properties(lambda: Entity(entity_type="agent", properties={"p": bad}))
    _refused_properties(
        lambda: Relation(from_entity="a", to_entity="b", relation_type="r", properties={"p": bad})
    )
    metadata = {"properties": {"p": bad}}
    _refused_properties(
        lambda: graph_request(
            Event.create("ENTITY_CREATED", {"entity_type": "agent", "metadata": metadata})
        )
    )
    store = FakeStore()
    bus = EventBus()
    bus.add_middleware(graph_middleware(store, bus.check_guards))
    _refused_properties(
        lambda: bus.publish(
            "RELATION_CREATED",
            {"from_entity": "a", "to_entity": "b", "relation_type": "r", "metadata": metadata},
        )
    )
    assert store.calls == []


def test_view_reads_are_copies_a_reader_cannot_change_the_view() -> None:
    view = GraphView()
    view.put_entity(Entity(entity_type="agent", id="a", properties={"n": {"deep": [1]}}))
    view.put_entity(Entity(entity_type="agent", id="b"))
    view.put_relation(
        Relation(from_entity="a", to_entity="b", relation_type="r", id="r", properties={"k": 1})
    )
    perspective = view.perspectives("agent")
    got = view.get_entity("a")
    assert got is not None
    got.properties["hacked"] = True
    got.properties["n"]["deep"].append(2)  # type: ignore[index,union-attr,call-overload]
    view.find_entities("agent")[0].properties["hacked"] = True
    view.neighbours("b")[0].properties["hacked"] = True
    perspective.view()[0].properties["hacked"] = True
    for relation in (view.get_relation("r"), view.relations("a")[0]):
        assert relation is not None
        relation.properties["hacked"] = True
    assert view.get_entity("a") == Entity(
        entity_type="agent", id="a", properties={"n": {"deep": [1]}}
    )
    assert view.find_entities("agent")[0].properties == {"n": {"deep": [1]}}
    assert view.relations("b")[0].properties == {"k": 1}


def test_find_entities_and_perspectives_refuse_an_empty_type_alike() -> None:
    view = GraphView()
    for read in (view.find_entities, view.perspectives):
        with pytest.raises(InvalidGraphArgumentError, match="entity_type must be a non-empty"):
            read("")
        with pytest.raises(InvalidGraphArgumentError, match="entity_type"):
            read(None)  # type: ignore[arg-type]


class GraphPlugin:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    @hookimpl
    def nerv_graph_store(self, runtime: Nerv) -> FakeStore:
        assert runtime.recorder is None  # asked after the recorder, of which there is none
        return self.store


def test_the_runtime_exposes_a_plugins_store_and_routes_its_events() -> None:
    with pytest.raises(LifecycleError, match="no graph store"):
        _ = Nerv().graph_store
    with Nerv() as bare, pytest.raises(LifecycleError, match="no graph store"):
        _ = bare.graph_store
    store = FakeStore()
    with Nerv(plugins=[GraphPlugin(store)]) as runtime:
        assert runtime.graph_store is store
        runtime.event_bus.publish("ENTITY_DELETED", {"entity_id": "a"})
    assert store.calls == [("delete_entity", "a")]
