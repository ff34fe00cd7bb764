"""`inner-universe mint-identity | grant | revoke | identities | stream-owner` end to end, each
call a subprocess, against the real server the commands start."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.integration.controller import test_cli
from tests.integration.controller.test_cli import Cli

cli = test_cli.cli  # the fixture: a config of its own in tmp_path


def holders(cli: Cli) -> set[tuple[str, str]]:
    lines = cli("identities", "--json").stdout.splitlines()
    return {(row["role"], row["identity"]) for row in map(json.loads, lines)}


def test_roles_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    cli("deploy")
    [owner] = [identity for role, identity in holders(cli) if role == "admin"]

    minted = json.loads(cli("mint-identity", "--token-file", "worker.token").stdout)
    worker = minted["identity"]
    assert minted == {"identity": worker, "role": "writer", "token_file": "worker.token"}
    token_file = tmp_path / "worker.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert json.loads(token_file.read_text())["token"].count(".") == 2  # a JWT
    assert holders(cli) == {("admin", owner), ("writer", worker)}

    again = cli("mint-identity", "--token-file", "worker.token", expect=1)
    assert "never overwritten" in again.stderr
    printed = json.loads(cli("mint-identity", "--role", "none").stdout)
    assert printed["token"]
    assert printed["identity"] not in {owner, worker}
    assert holders(cli) == {("admin", owner), ("writer", worker)}

    assert cli("revoke", worker, "writer").stdout.strip() == f"{worker} is no longer writer"
    refused = cli("revoke", worker, "writer", expect=1)
    assert f'not_found: writer "{worker}" does not exist' in refused.stderr
    cli("grant", worker, "admin")
    assert holders(cli) == {("admin", owner), ("admin", worker)}
    refused = cli("revoke", owner, "admin", expect=1)
    assert f"permission_denied: {owner} published the database and stays admin" in refused.stderr
    cli("revoke", worker, "admin")
    assert holders(cli) == {("admin", owner)}

    bad = cli("grant", "not-hex", "writer", expect=2)
    assert "IDENTITY" in bad.stderr


def test_stream_owners_from_the_command_line(cli: Cli) -> None:
    cli("deploy")
    worker = json.loads(cli("mint-identity", "--role", "none").stdout)["identity"]
    given = cli("stream-owner", "timeline:main", worker)
    assert given.stdout.strip() == f"timeline:main belongs to {worker}"
    rows = cli("sql", "SELECT * FROM stream_owner").stdout
    assert "timeline:main" in rows
    assert worker in rows
    assert cli("stream-owner", "timeline:main", "--clear").stdout.strip() == (
        "timeline:main has no owner"
    )
    assert "timeline:main" not in cli("sql", "SELECT * FROM stream_owner").stdout
    again = cli("stream-owner", "timeline:main", "--clear", expect=1)
    assert 'not_found: stream owner "timeline:main" does not exist' in again.stderr
    both = cli("stream-owner", "timeline:main", worker, "--clear", expect=1)
    assert "give either IDENTITY or --clear" in both.stderr
    bad = cli("stream-owner", "timeline:stream.s", worker, expect=1)
    assert 'invalid_argument: timeline "stream.s" belongs to the owner of "deltas:s"' in bad.stderr
