"""Stops that meet something else (issue 9): a stop that overlaps a crash-restart keeps the
database closed (once a stop has begun, the health wait of the restart under way opens
nothing, even though cancelling its task leaves its worker thread running); `stop_serving`
closes and checkpoints the database itself, so a serving process without a SIGTERM handler
(an application's own controller) is stopped durably too."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from nerv_inner_universe.client import SpacetimeHttp
from nerv_inner_universe.controller import (
    InnerUniverseConfig,
    InnerUniverseController,
    ServerProcess,
    free_port,
)
from nerv_inner_universe.controller.deployment import make_durable
from nerv_inner_universe.controller.durability import CheckpointTarget
from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.supervision import RestartBudget, ServerExit, Supervisor
from nerv_inner_universe.controller.tokens import OwnerToken
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.conftest import publish
from tests.integration.controller.conftest import MakeController
from tests.integration.controller.test_write_fence import DEADLINE, wait_for
from tests.integration.http_api import Database, entity_metadata

APPLICATION = """
import asyncio, sys
from nerv_inner_universe.contract import EntityMetadata, create_entity
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController

async def main():
    config = InnerUniverseConfig(db_path=sys.argv[1], port=int(sys.argv[2]))
    controller = InnerUniverseController(config)  # no SIGTERM handler: SIGTERM kills it
    client = await controller.start_server_mode(tables=())
    metadata = EntityMetadata(name=None, tags=(), properties="{}")
    await create_entity(entity_id="e1", entity_type="agent", metadata=metadata).send(client)
    print("serving", flush=True)
    await asyncio.to_thread(sys.stdin.read)

asyncio.run(main())
"""


class RestartHeldBeforeReopen(ServerProcess):
    """A real server whose health wait, once the server answers after a restart, waits for
    ``release`` before it opens the databases; and whose closing checkpoint waits for
    ``release_stop``: the test orders a restart's reopen against a stop."""

    def __init__(self, binary: Path, root: Path) -> None:
        super().__init__(binary, root, port=free_port())
        self.hold = False
        self.reopening = threading.Event()
        self.release = threading.Event()
        self.reopen_results: list[bool] = []
        self.reopen_done = threading.Event()
        self.closed = threading.Event()
        self.release_stop = threading.Event()

    def _reopen(self, targets: list[CheckpointTarget], *, launch: int) -> bool:
        if not self.hold:
            return super()._reopen(targets, launch=launch)
        self.reopening.set()
        wait_for(self.release, "the test's release of the reopen")
        try:
            opened = super()._reopen(targets, launch=launch)
            self.reopen_results.append(opened)
            return opened
        finally:
            self.reopen_done.set()

    def make_durable(self, *, timeout: float | None = None, close: bool = False) -> None:
        super().make_durable(timeout=timeout, close=close)
        if close and self.hold:
            self.closed.set()
            wait_for(self.release_stop, "the test's release of the stop")


async def test_a_stop_during_a_crash_restart_leaves_the_database_closed(
    machine: SetupResult, tmp_path: Path
) -> None:
    server = RestartHeldBeforeReopen(machine.server_binary, tmp_path / "server")
    server.start()
    exits: list[ServerExit] = []
    supervisor = Supervisor(
        server,
        stop_timeout=10.0,
        restart=RestartBudget(),
        on_exit=exits.append,
        on_relaunched=lambda: None,
        on_died=lambda failure: None,
        log=get_logger(__name__),
    )
    try:
        db = publish(server, machine.module_wasm)  # registered: stops close it
        async with SpacetimeHttp(server.base_url, token=db.token) as http:
            # The crash below must not take the fresh database with it (the control database
            # keeps a new database only once it is on disk), as a deployment waits too.
            await make_durable(http, db.name, server, None, recreated=True)
        supervisor.watch()
        server.hold = True
        assert server.pid is not None
        os.killpg(server.pid, signal.SIGKILL)  # a crash: the watcher restarts it
        await asyncio.to_thread(wait_for, server.reopening, "the restart's reopen")
        stopping = asyncio.create_task(supervisor.stop())
        await asyncio.to_thread(wait_for, server.closed, "the stop's closing checkpoint")
        server.release.set()  # the restart's health wait goes on now, the stop has begun
        await asyncio.to_thread(wait_for, server.reopen_done, "the restart's reopen")
        assert server.reopen_results == [False], "the restart opened what the stop closed"
        refusal = db.fails("create_entity", "e1", "agent", entity_metadata())
        assert refusal.startswith("unavailable: "), refusal
        server.release_stop.set()
        await stopping
        assert [exit.restarting for exit in exits] == [True]
    finally:
        server.release.set()
        server.release_stop.set()
        await supervisor.stop()
    # A server nobody registered the database with shows it as the stop left it: closed.
    bare = ServerProcess(machine.server_binary, server.root, port=server.port)
    bare.start()
    try:
        assert db.sql("SELECT * FROM write_fence") != []
    finally:
        bare.stop()


async def test_stop_serving_closes_an_applications_database_durably(
    machine: SetupResult, config: InnerUniverseConfig, make_controller: MakeController
) -> None:
    deploying = make_controller()
    await deploying.start_deployment_mode()
    await deploying.stop()
    app = subprocess.Popen(  # noqa: ASYNC220 - spawning does not wait
        [sys.executable, "-c", APPLICATION, str(config.db_path), str(config.port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "serving", "the application did not start"
        record = await InnerUniverseController(config).stop_serving()
        assert record is not None
        assert record.pid == app.pid
        assert app.wait(DEADLINE) == -signal.SIGTERM, "SIGTERM ended it: no handler ran"
        assert not record.server_alive  # a zombie, maybe, while init has not reaped it
    finally:
        app.kill()
        app.wait()
    token = OwnerToken(config, DbLayout(config.db_path)).load()
    assert token is not None
    bare = ServerProcess(machine.server_binary, config.db_path, port=config.port)
    bare.start()  # nobody registered the database: it shows it as the stop left it
    try:
        db = Database(base_url=bare.base_url, name=config.database, token=token, server=bare)
        assert db.sql("SELECT * FROM write_fence") != [], "the stop closed it for writes"
        assert [row["id"] for row in db.sql("SELECT * FROM entity")] == ["e1"]
    finally:
        bare.stop()
