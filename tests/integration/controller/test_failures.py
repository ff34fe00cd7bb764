"""Bad situations end in a clear, typed error (and nothing left running), or are survived."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from nerv_inner_universe.client import SpacetimeHttp
from nerv_inner_universe.contract import create_entity
from nerv_inner_universe.controller import (
    AuthenticationError,
    DataDirLockedError,
    InnerUniverseConfig,
    NotDeployedError,
    PortInUseError,
    ServerAlreadyRunningError,
    ServerBinaryMissingError,
    ServerDiedError,
    ServerExit,
    ServerProcess,
    ServerUnreachableError,
    free_port,
    supervision,
)
from nerv_inner_universe.controller.pidfile import read_record
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.controller.conftest import MakeController, entity_metadata


@pytest.fixture
def listener(config: InnerUniverseConfig) -> Iterator[socket.socket]:
    """Something else listening on the configured port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((config.address, config.port))
        sock.listen()
        yield sock


async def test_port_in_use_is_named_with_what_to_do(
    make_controller: MakeController, listener: socket.socket, config: InnerUniverseConfig
) -> None:
    controller = make_controller()
    with pytest.raises(PortInUseError) as caught:
        await controller.start_deployment_mode()
    message = str(caught.value)
    assert f"{config.address}:{config.port} is already in use" in message
    assert "config key `port`" in message
    assert f'server_url = "http://{config.address}:{config.port}"' in message
    assert controller.mode is None
    assert read_record(controller.layout) is None


async def test_a_data_dir_held_by_another_server_is_refused(
    make_controller: MakeController, machine: SetupResult, config: InnerUniverseConfig
) -> None:
    foreign = ServerProcess(machine.server_binary, config.db_path, port=free_port())
    foreign.start()
    try:
        controller = make_controller()
        with pytest.raises(DataDirLockedError, match="is locked by another running server"):
            await controller.start_server_mode()
        assert controller.process is None
    finally:
        foreign.stop()


async def test_a_missing_binary_points_to_setup(
    make_controller: MakeController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = make_controller(server_binary=tmp_path / "no-such-binary")
    with pytest.raises(ServerBinaryMissingError, match="run `inner-universe setup`"):
        await explicit.start_server_mode()
    monkeypatch.setattr(supervision, "find_server", lambda: None)
    searched = make_controller(server_binary=None)
    with pytest.raises(ServerBinaryMissingError, match=r"not found .* run `inner-universe setup`"):
        await searched.start_deployment_mode()


async def test_an_unreachable_remote_server(
    make_controller: MakeController,
    config: InnerUniverseConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    remote = attrs.evolve(config, server_url=f"http://127.0.0.1:{free_port()}")
    controller = make_controller(remote)
    with pytest.raises(ServerUnreachableError, match="no SpacetimeDB server answers at http://"):
        await controller.start_server_mode()
    assert controller.process is None, "attaching never spawns a server"


async def test_server_mode_before_any_deployment_says_deploy_first(
    make_controller: MakeController,
) -> None:
    with pytest.raises(NotDeployedError, match="deploy first"):
        await make_controller().start_server_mode()


async def test_a_token_from_other_keys_is_refused_with_401(
    make_controller: MakeController, config: InnerUniverseConfig, server: ServerProcess
) -> None:
    deployer = make_controller()
    await deployer.start_deployment_mode()
    await deployer.stop()
    async with SpacetimeHttp(server.base_url) as other_server:
        foreign = await other_server.create_identity()
    deployer.layout.save_owner_token(foreign.token)

    controller = make_controller()
    with pytest.raises(AuthenticationError) as caught:
        await controller.start_server_mode()
    message = str(caught.value)
    assert "HTTP 401" in message
    assert str(controller.layout.owner_token_file) in message
    assert str(controller.layout.keys_dir) in message
    assert controller.process is None


async def test_a_database_owned_by_another_identity_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    deployer = make_controller()
    await deployer.start_deployment_mode()
    other = await deployer.http.create_identity()
    await deployer.stop()
    deployer.layout.save_owner_token(other.token)
    with pytest.raises(AuthenticationError, match="belongs to another identity"):
        await make_controller().start_deployment_mode()


async def test_serving_twice_is_refused_when_attaching_is_not_wanted(
    make_controller: MakeController,
) -> None:
    running = make_controller()
    await running.start_deployment_mode()
    with pytest.raises(ServerAlreadyRunningError, match="already serves"):
        await make_controller().start_server_mode(attach=False)


async def test_a_server_killed_under_a_controller_is_restarted(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    deployer = make_controller()
    await deployer.start_deployment_mode()
    await deployer.stop()
    exits: list[ServerExit] = []
    exited = asyncio.Event()

    def on_exit(event: ServerExit) -> None:
        exits.append(event)
        exited.set()

    controller = make_controller(attrs.evolve(config, restart_on_exit=True), on_server_exit=on_exit)
    client = await controller.start_server_mode(tables=("entity",))
    process = controller.process
    assert process is not None
    first_pid = process.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    await asyncio.wait_for(exited.wait(), 15)
    # the watcher restarts the server right after telling us, before it awaits anything
    assert process.running()
    assert process.pid != first_pid
    assert exits[0].restarting
    assert exits[0].returncode == -signal.SIGKILL
    record = read_record(controller.layout)
    assert record is not None
    assert record.server_pid == process.pid, "the record follows the new server"
    await create_entity(
        entity_id="after-restart", entity_type="agent", metadata=entity_metadata(None)
    ).send(client)
    assert (await controller.row_counts())["entity"] == 1


async def test_a_server_dying_without_restart_ends_wait_with_the_reason(
    make_controller: MakeController,
) -> None:
    deployer = make_controller()
    await deployer.start_deployment_mode()
    await deployer.stop()
    controller = make_controller()
    await controller.start_server_mode(tables=())
    assert controller.process is not None
    pid = controller.process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ServerDiedError, match="exited with code -9"):
        await asyncio.wait_for(controller.wait(), 15)
    assert read_record(controller.layout) is None
