"""The `inner-universe` command end to end, each call a subprocess of its own, as an operator
would run it: deploy, serve, status, sql, backup (asked of the serving process), export,
stop, restore, and the exit codes and messages of what goes wrong."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import SpacetimeHttp, Timestamp, read_token_file
from nerv_inner_universe.controller import free_port
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.controller.conftest import gone

CLI = Path(sys.executable).with_name("inner-universe")


class Cli:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    def __call__(
        self, *args: str, expect: int | tuple[int, ...] = 0, **env: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(CLI), "--log-level", "warning", *args],
            env={**self.env, **env},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (expect if isinstance(expect, tuple) else (expect,)), (
            f"inner-universe {' '.join(args)} exited {done.returncode}, expected {expect}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
        return done

    def serve(self) -> subprocess.Popen[str]:
        return self.serve_with(None)

    def serve_with(self, config: Path | None) -> subprocess.Popen[str]:
        chosen = () if config is None else ("-c", str(config))
        return subprocess.Popen(
            [str(CLI), "--log-level", "warning", "serve", *chosen],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def status(
        self, expect: int | tuple[int, ...] = 0, config: Path | None = None
    ) -> dict[str, Any]:
        chosen = () if config is None else ("-c", str(config))
        done = self("status", "--json", *chosen, expect=expect)
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def wait_running(
        self, serving: subprocess.Popen[str], config: Path | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert serving.poll() is None, f"serve exited: {serving.communicate()[1]}"
            status = self.status(expect=(0, 3), config=config)
            if status["running"] and status["record"]["mode"] == "server":
                return status
            time.sleep(0.2)
        raise AssertionError("serve did not come up within 30 s")


@pytest.fixture
def cli(machine: SetupResult, tmp_path: Path) -> Iterator[Cli]:
    config = tmp_path / "inner-universe.toml"
    config.write_text(f'[inner_universe]\nport = {free_port()}\ndb_path = "data"\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith("INNER_UNIVERSE_")}
    env.update(
        INNER_UNIVERSE_CONFIG=str(config),
        SPACETIMEDB_STANDALONE=str(machine.server_binary),
        NO_COLOR="1",
        COLUMNS="200",
    )
    tool = Cli(env, tmp_path)
    yield tool
    tool("stop")  # whatever a failed test left running


def test_the_operator_workflow(cli: Cli, tmp_path: Path) -> None:
    deployed = cli("deploy")
    assert "created" in deployed.stdout
    assert cli.status(expect=3)["detail"] == "not running"

    serving = cli.serve()
    try:
        status = cli.wait_running(serving)
        assert status["row_counts"]["config"] == len(contract.DEFAULT_CONFIG)
        server_pid = status["record"]["server_pid"]

        config_rows = [
            json.loads(line)
            for line in cli("sql", "--json", "SELECT * FROM config").stdout.splitlines()
        ]
        assert {row["key"] for row in config_rows} >= {"snapshot_interval", "auth_required"}

        backup = cli("backup", "backup.tar.gz")
        assert "asking process" in backup.stderr
        assert (tmp_path / "backup.tar.gz").is_file()
        cli("backup", "backup.tar.gz", expect=1)  # never overwrites silently
        after = cli.status()
        assert after["record"]["pid"] == status["record"]["pid"], "serve kept running"
        assert after["record"]["server_pid"] != server_pid, "its server was paused and resumed"

        cli("export", "dump.jsonl")
        end = json.loads((tmp_path / "dump.jsonl").read_text().splitlines()[-1])
        assert end["end"]["rows"]["config"] == len(contract.DEFAULT_CONFIG)

        assert "initialized" in cli("logs", "-n", "20").stdout
        cli("logs", "--server", "-n", "5")

        stopped = cli("stop")
        assert "stopped process" in stopped.stderr
        assert serving.wait(timeout=30) == 0
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()
    assert gone(after["record"]["server_pid"]), "no server outlives stop"
    assert cli.status(expect=3)["running"] is False
    assert "nothing is running" in cli("stop").stderr

    refused = cli("restore", "backup.tar.gz", expect=1)
    assert "is not empty" in refused.stderr
    cli("restore", "backup.tar.gz", "--force")
    rows = cli("sql", "--json", "SELECT COUNT(*) AS n FROM config").stdout
    assert json.loads(rows) == {"n": len(contract.DEFAULT_CONFIG)}


def test_ctrl_c_stops_serve_cleanly(cli: Cli) -> None:
    cli("deploy")
    serving = cli.serve()
    status = cli.wait_running(serving)
    serving.send_signal(signal.SIGINT)
    assert serving.wait(timeout=30) == 0, serving.communicate()[1]
    assert gone(status["record"]["server_pid"])
    assert cli.status(expect=3)["running"] is False


def test_errors_say_what_is_wrong(cli: Cli, tmp_path: Path) -> None:
    bad = cli("status", expect=2, INNER_UNIVERSE_PORT="abc")
    assert "INNER_UNIVERSE_PORT: must be an integer from 1 to 65535, got 'abc'" in bad.stderr

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        busy = cli("deploy", expect=1, INNER_UNIVERSE_PORT=str(port))
    assert f"127.0.0.1:{port} is already in use" in busy.stderr

    missing = cli(
        "deploy",
        expect=1,
        SPACETIMEDB_STANDALONE=str(tmp_path / "nope"),
        PATH="/nonexistent",
        NERV_INNER_UNIVERSE_CACHE=str(tmp_path / "cache"),
    )
    assert "inner-universe setup" in missing.stderr

    remote = cli(
        "sql",
        "SELECT 1",
        expect=1,
        INNER_UNIVERSE_SERVER_URL=f"http://127.0.0.1:{free_port()}",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )
    assert "no SpacetimeDB server answers" in remote.stderr


def test_a_stored_time_out_of_range_neither_breaks_sql_nor_replay(cli: Cli, tmp_path: Path) -> None:
    """The module refuses such a time now; an older module stored one as given. Its rows come
    back through `import` (which restores rows exactly), as they would from an old backup."""
    cli("deploy")
    serving = cli.serve()
    try:
        cli.wait_running(serving)
        port = tomllib.loads((tmp_path / "inner-universe.toml").read_text())["inner_universe"]
        token = read_token_file(tmp_path / "data" / "owner.token")
        assert token is not None

        async def publish() -> None:
            async with SpacetimeHttp(f"http://127.0.0.1:{port['port']}", token=token) as http:
                for event_id in ("far", "near"):
                    event = contract.EventInput(
                        event_id=event_id,
                        event_type="T",
                        source=None,
                        occurred_at=Timestamp(1_700_000_000_000_000),
                        data="{}",
                    )
                    await contract.publish_event(event=event).send_http(http, "inner-universe")

        asyncio.run(publish())
        cli("export", "dump.jsonl")
    finally:
        cli("stop")
        serving.wait(timeout=30)
    lines = []
    for line in (tmp_path / "dump.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("table") == "event_log" and record["row"]["event_id"] in ("far", "near"):
            far = record["row"]["event_id"] == "far"
            record["row"]["occurred_at"] = {
                "__timestamp_micros_since_unix_epoch__": 2**63 - 1 if far else -(2**63)
            }
        lines.append(json.dumps(record))
    (tmp_path / "old.jsonl").write_text("\n".join(lines) + "\n")
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(f'[inner_universe]\nport = {free_port()}\ndb_path = "fresh"\n')
    cli("deploy", "-c", str(fresh))
    cli("import", "-c", str(fresh), "old.jsonl")

    shown = cli(
        "sql",
        "-c",
        str(fresh),
        "SELECT event_id, occurred_at FROM event_log WHERE event_type = 'T'",
    )
    assert "9223372036854775807 µs since the Unix epoch" in shown.stdout
    assert "-9223372036854775808 µs since the Unix epoch" in shown.stdout
    assert "Traceback" not in shown.stderr

    serving = cli.serve_with(fresh)
    try:
        cli.wait_running(serving, fresh)
        replayed = cli("replay", "-c", str(fresh))
        assert "2 published events" in " ".join(replayed.stderr.split()), replayed.stderr
    finally:
        cli("stop", "-c", str(fresh))
        serving.wait(timeout=30)
