"""A small agent workflow whose whole state lives in Inner Universe.

Every run: deploy Inner Universe on a data dir (the first run creates it), run a NERV runtime
with the `inner_universe` plugin enabled by configuration, record the agent and its tools as
entities and relations (through ``runtime.graph_store`` and a request published on the bus),
publish events, commit plan versions and apply progress deltas, and stop.
Then restart the server and a fresh runtime in server mode, and show that replay restored the
EventBus history, the TemporalStore history and the StateProjector state exactly.

Run it again and it continues where the previous run stopped: the state survives processes.

    .venv/bin/python examples/agent_workflow.py [--db-path DIR] [--port N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from nerv_inner_universe import log
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController, free_port
from nerv_inner_universe.nerv import Event, Nerv, PatchDelta
from nerv_inner_universe.nerv.graph import Entity, Relation
from nerv_inner_universe.nerv.graph_events import GRAPH_EVENT_TYPES

console = Console()
DEFAULT_DB_PATH = Path(__file__).resolve().parent / ".state" / "inner_universe_db"


def nerv_config(controller: InnerUniverseController) -> dict[str, Any]:
    """What Atlas would put in its TOML: the plugin is switched on by naming it."""
    return {
        "nerv": {
            "plugins": ["inner_universe"],
            "inner_universe": {
                "url": controller.url,
                "database": controller.config.database,
                "token_file": str(controller.layout.owner_token_file),
                "events": "async",
            },
        }
    }


def record_agent(nerv: Nerv, run: int) -> None:
    """Entities and relations through NERV: the graph store, and one request published on the
    bus (repeated ids with identical content are no-ops)."""
    graph = nerv.graph_store
    graph.create_entity(Entity(entity_type="agent", id="agent.planner", name="planner"))
    graph.create_entity(Entity(entity_type="tool", id="tool.search", name="search"))
    nerv.event_bus.publish(
        "ENTITY_CREATED",
        {
            "entity_id": f"task.{run}",
            "entity_type": "task",
            "metadata": {"properties": {"run": run}},
        },
    )
    graph.create_relation(
        Relation(
            id="planner-uses-search",
            from_entity="agent.planner",
            to_entity="tool.search",
            relation_type="uses",
        )
    )
    graph.create_relation(
        Relation(
            id=f"planner-works-on-{run}",
            from_entity="agent.planner",
            to_entity=f"task.{run}",
            relation_type="works_on",
            strength=0.8,
        )
    )
    assert nerv.recorder is not None
    nerv.recorder.flush()  # async mode: wait until stored (the view then holds them)
    tasks = [e.properties["run"] for e in graph.view.neighbours("agent.planner", "out", "works_on")]
    tools = [e.name for e in graph.view.neighbours("agent.planner", "out", "uses")]
    console.print(f"  graph: the planner uses {tools} and worked on runs {tasks}")


def published(events: list[Event]) -> list[tuple[str, str, Any]]:
    """The events the workflow published (graph changes come back from the module's log, not
    from replay, so they are left out)."""
    return [(e.id, e.type, e.data) for e in events if e.type not in GRAPH_EVENT_TYPES]


def run_workflow(config: dict[str, Any]) -> dict[str, Any]:
    """The NERV side: plain synchronous code, unaware of SpacetimeDB."""
    with Nerv(config) as nerv:
        bus, store, projector = nerv.event_bus, nerv.temporal_store, nerv.state_projector
        run = len(store.get_history()) + 1
        console.print(
            f"[bold]run {run}[/bold]: replay restored {len(bus.get_history(limit=None))} events, "
            f"{len(store.get_history())} versions, state {projector.get_current_state()}"
        )
        seen: list[Event] = []
        for event_type in ("TASK_STARTED", "STEP_DONE", "TASK_FINISHED"):
            bus.subscribe(event_type, seen.append)
        record_agent(nerv, run)
        bus.publish("TASK_STARTED", {"task": f"task.{run}"}, source="agent.planner")
        previous = store.get()
        steps = previous["steps"] if isinstance(previous, dict) else []
        assert isinstance(steps, list)
        for step in ("search", "summarise", "answer"):
            bus.publish("STEP_DONE", {"task": f"task.{run}", "step": step}, source="agent.planner")
            projector.apply_delta(PatchDelta({"last_step": step, "run": run}), f"did {step}")
        store.commit(
            {"steps": [*steps, f"run {run}: search, summarise, answer"], "runs": run},
            f"plan after run {run}",
        )
        bus.publish("TASK_FINISHED", {"task": f"task.{run}"}, source="agent.planner")
        console.print(
            f"  published {len(seen)} events, committed version {store.get_current_version_id()}"
        )
        return {
            "events": published(list(reversed(bus.get_history(limit=None)))),
            "versions": [(v.version_id, v.data_hash) for v in store.get_history()],
            "state": projector.get_current_state(),
        }


def restored(config: dict[str, Any]) -> dict[str, Any]:
    """A fresh runtime: everything it has came from replay."""
    with Nerv(config) as nerv:
        history = list(reversed(nerv.event_bus.get_history(limit=None)))
        assert all(event.replayed for event in history)
        return {
            "events": published(history),
            "versions": [(v.version_id, v.data_hash) for v in nerv.temporal_store.get_history()],
            "state": nerv.state_projector.get_current_state(),
        }


async def main(db_path: Path, port: int) -> int:
    config = InnerUniverseConfig(db_path=db_path, port=port, database="agent-workflow")
    async with InnerUniverseController(config) as controller:
        await controller.start_deployment_mode()
        console.print(f"Inner Universe deployed at {controller.url} (data in {db_path})")
        before = await asyncio.to_thread(run_workflow, nerv_config(controller))
        counts = await controller.row_counts()
        console.print(f"  tables now hold: {counts}")

    console.print("server stopped; starting it again in server mode")
    async with InnerUniverseController(config) as controller:
        await controller.start_server_mode()
        after = await asyncio.to_thread(restored, nerv_config(controller))
    if after != before:
        console.print("[red]replay did not restore the same state[/red]")
        return 1
    console.print(
        f"[green]restored by replay:[/green] {len(after['events'])} events, "
        f"{len(after['versions'])} versions, projector state {after['state']}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-path", type=Path, default=DEFAULT_DB_PATH)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    arguments = parser.parse_args()
    log.configure("warning")
    sys.exit(asyncio.run(main(arguments.db_path, arguments.port or free_port())))
