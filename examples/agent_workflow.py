"""A small agent workflow whose whole state lives in Inner Universe.

Every run: deploy Inner Universe on a data dir (the first run creates it), record the agent and
its tools as entities and relations, run a NERV runtime with the `inner_universe` plugin enabled
by configuration, publish events, commit plan versions and apply progress deltas, and stop.
Then restart the server and a fresh runtime in server mode, and show that replay restored the
EventBus history, the TemporalStore history and the StateProjector state exactly.

Run it again and it continues where the previous run stopped: the state survives processes.

    .venv/bin/python examples/agent_workflow.py [--db-path DIR] [--port N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from nerv_inner_universe import log
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.contract import (
    EntityMetadata,
    RelationMetadata,
    create_entity,
    create_relation,
)
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController, free_port
from nerv_inner_universe.nerv import Event, Nerv, PatchDelta

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


async def record_agent(client: DbConnection, run: int) -> None:
    """Entities and relations through the module's reducers (repeated ids are no-ops)."""
    calls = [
        create_entity(
            entity_id="agent.planner",
            entity_type="agent",
            metadata=EntityMetadata(name="planner"),
        ),
        create_entity(
            entity_id="tool.search", entity_type="tool", metadata=EntityMetadata(name="search")
        ),
        create_entity(
            entity_id=f"task.{run}",
            entity_type="task",
            metadata=EntityMetadata(properties=json.dumps({"run": run})),
        ),
        create_relation(
            relation_id="planner-uses-search",
            from_entity="agent.planner",
            to_entity="tool.search",
            relation_type="uses",
            metadata=RelationMetadata(),
        ),
        create_relation(
            relation_id=f"planner-works-on-{run}",
            from_entity="agent.planner",
            to_entity=f"task.{run}",
            relation_type="works_on",
            metadata=RelationMetadata(strength=0.8),
        ),
    ]
    for call in calls:
        await call.send(client)


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
        bus.subscribe("*", seen.append)
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
            "events": [(e.id, e.type, e.data) for e in reversed(bus.get_history(limit=None))],
            "versions": [(v.version_id, v.data_hash) for v in store.get_history()],
            "state": projector.get_current_state(),
        }


def restored(config: dict[str, Any]) -> dict[str, Any]:
    """A fresh runtime: everything it has came from replay."""
    with Nerv(config) as nerv:
        history = list(reversed(nerv.event_bus.get_history(limit=None)))
        assert all(event.replayed for event in history)
        return {
            "events": [(e.id, e.type, e.data) for e in history],
            "versions": [(v.version_id, v.data_hash) for v in nerv.temporal_store.get_history()],
            "state": nerv.state_projector.get_current_state(),
        }


async def main(db_path: Path, port: int) -> int:
    config = InnerUniverseConfig(db_path=db_path, port=port, database="agent-workflow")
    async with InnerUniverseController(config) as controller:
        client = await controller.start_deployment_mode()
        console.print(f"Inner Universe deployed at {controller.url} (data in {db_path})")
        before = await asyncio.to_thread(run_workflow, nerv_config(controller))
        await record_agent(client, len(before["versions"]))
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
