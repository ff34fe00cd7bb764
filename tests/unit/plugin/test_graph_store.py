"""`InnerUniverseGraph.update_relation`'s endpoint check with the server's row given by hand
(the real-server tests cover the race with another process)."""

from __future__ import annotations

import concurrent.futures

import pytest

from nerv_inner_universe.nerv import InvalidGraphArgumentError, Relation
from nerv_inner_universe.plugin.graph import InnerUniverseGraph
from nerv_inner_universe.plugin.writer import Write

STORED = Relation(id="r", from_entity="a", to_entity="b", relation_type="r")


class RecordingWriter:
    """Takes writes and reports them done at once."""

    def __init__(self) -> None:
        self.reducers: list[str] = []

    def submit(self, write: Write) -> concurrent.futures.Future[None]:
        assert write.call is not None  # the graph writes no barriers
        self.reducers.append(write.call.reducer)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_result(None)
        return done


def store(server_row: Relation | None) -> tuple[InnerUniverseGraph, RecordingWriter, list[str]]:
    writer, asked = RecordingWriter(), []

    def stored_relation(relation_id: str) -> Relation | None:
        asked.append(relation_id)
        return server_row

    graph = InnerUniverseGraph(
        writer,  # type: ignore[arg-type]
        wait=True,
        on_failure=lambda error: None,
        stored_relation=stored_relation,
    )
    return graph, writer, asked


def test_changed_endpoints_are_refused_by_the_servers_row_when_the_view_lacks_it() -> None:
    graph, writer, asked = store(STORED)
    with pytest.raises(InvalidGraphArgumentError, match="endpoints cannot change"):
        graph.update_relation(Relation(id="r", from_entity="a", to_entity="c", relation_type="x"))
    assert (asked, writer.reducers) == (["r"], [])


def test_a_stale_view_is_overruled_by_the_servers_row() -> None:
    graph, writer, asked = store(STORED)
    graph.view.put_relation(Relation(id="r", from_entity="a", to_entity="c", relation_type="r"))
    graph.update_relation(Relation(id="r", from_entity="a", to_entity="b", relation_type="x"))
    with pytest.raises(InvalidGraphArgumentError, match="endpoints cannot change"):
        graph.update_relation(Relation(id="r", from_entity="a", to_entity="d", relation_type="x"))
    assert (asked, writer.reducers) == (["r", "r"], ["update_relation"])


def test_a_view_that_agrees_needs_no_read_and_a_missing_relation_is_left_to_the_server() -> None:
    graph, writer, asked = store(None)
    graph.update_relation(Relation(id="r", from_entity="a", to_entity="b", relation_type="x"))
    graph.view.put_relation(STORED)
    graph.update_relation(Relation(id="r", from_entity="a", to_entity="b", relation_type="y"))
    assert (asked, writer.reducers) == (["r"], ["update_relation", "update_relation"])
