"""Secrets against the real server: the token-signing key is 0600 from its first byte, in
backups and after restores; exports, records and logs are 0600; no log shows a token.

Whoever reads ``keys/id_ecdsa`` can mint any identity's token (the admin's included), so a
0644 key is a full compromise for every other user of the machine.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest
import structlog

from nerv_inner_universe import log
from nerv_inner_universe.controller import InnerUniverseConfig
from nerv_inner_universe.controller.layout import DbLayout
from tests.integration.controller.conftest import MakeController, entity_metadata, populate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private_files(layout: DbLayout) -> dict[str, int]:
    return {
        "keys/": mode(layout.keys_dir),
        "keys/id_ecdsa": mode(layout.signing_key_file),
        "owner.token": mode(layout.owner_token_file),
        "deployment.json": mode(layout.deployment_file),
        "server.log": mode(layout.root / "server.log"),
    }


PRIVATE = {
    "keys/": 0o700,
    "keys/id_ecdsa": 0o600,
    "owner.token": 0o600,
    "deployment.json": 0o600,
    "server.log": 0o600,
}


async def test_the_server_creates_its_signing_key_0600(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    """spacetimedb-standalone 1.2.0 writes a missing key pair with ``std::fs::write`` (mode
    0666 minus the umask); started with umask 077 it is private from its first byte."""
    layout = DbLayout(config.db_path)
    assert not layout.signing_key_file.exists()
    controller = make_controller()
    client = await controller.start_deployment_mode()
    await populate(client)
    assert layout.signing_key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert private_files(layout) == PRIVATE
    others = stat.S_IRWXG | stat.S_IRWXO
    wide = [
        str(path.relative_to(layout.root))
        for path in layout.data_dir.rglob("*")
        if path.stat().st_mode & others
    ]
    assert wide == [], "the server created files other users can read"


async def test_a_key_left_0644_by_an_older_start_is_made_0600_before_the_next(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    layout = DbLayout(config.db_path)
    first = make_controller()
    await first.start_deployment_mode()
    await first.stop()
    layout.signing_key_file.chmod(0o644)
    layout.keys_dir.chmod(0o755)
    layout.owner_token_file.chmod(0o644)

    second = make_controller()
    client = await second.start_server_mode(tables=("entity",))
    assert private_files(layout) == PRIVATE
    # The same key still signs the owner's token: the owner's write is accepted.
    await client.call_reducer("create_entity", "e9", "agent", entity_metadata(None))
    assert len(client.cache.table("entity")) == 1


async def test_backups_store_the_key_0600_and_restores_keep_it_private(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    layout = DbLayout(config.db_path)
    controller = make_controller()
    await populate(await controller.start_deployment_mode())
    await controller.stop()
    layout.signing_key_file.chmod(0o644)  # as an older server left it
    archive = tmp_path / "backup.tar.gz"
    await make_controller().backup(archive)

    assert mode(archive) == 0o600
    with tarfile.open(archive) as tar:
        members = {member.name: member.mode for member in tar.getmembers()}
    assert members["keys/id_ecdsa"] == 0o600
    assert members["owner.token"] == 0o600
    assert set(members.values()) == {0o600}, members

    await make_controller().restore(archive, force=True)
    assert mode(layout.root) == 0o700
    assert private_files(layout) == PRIVATE
    server = make_controller()
    client = await server.start_server_mode(tables=("entity",))
    assert len(client.cache.table("entity")) == 2, "the restored key still signs the token"
    assert mode(layout.signing_key_file) == 0o600


async def test_exports_are_0600_and_no_log_or_export_shows_the_token(
    make_controller: MakeController,
    config: InnerUniverseConfig,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    layout = DbLayout(config.db_path)
    configured = structlog.get_config()
    log.configure("debug")  # server_output lines too
    try:
        controller = make_controller()
        await populate(await controller.start_deployment_mode())
        exported = tmp_path / "dump.jsonl"
        await controller.export(exported)
        await controller.stop()
    finally:
        structlog.configure(**configured)
        log.configure(os.environ.get("NERV_TEST_LOG_LEVEL", "info"))  # as tests/conftest.py
    token = layout.load_owner_token()
    assert token is not None
    assert len(token) > 100

    assert mode(exported) == 0o600
    logged = capfd.readouterr()
    assert "server_output" in logged.err, "the server's output was logged"
    texts = {
        "structlog output": logged.out + logged.err,
        "server.log": (layout.root / "server.log").read_text(errors="replace"),
        "export": exported.read_text(),
    }
    for server_log in layout.data_dir.joinpath("logs").rglob("*"):
        if server_log.is_file():
            texts[str(server_log)] = server_log.read_text(errors="replace")
    for where, text in texts.items():
        assert token not in text, f"the owner token is in the {where}"
        assert token.split(".")[-1] not in text, f"the token's signature is in the {where}"
