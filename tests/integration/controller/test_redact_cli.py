"""`inner-universe redact` end to end, each call a subprocess against the real server the
commands start: the owner redacts, the tombstone is on disk for the next command, a refusal
says why and exits 1."""

from __future__ import annotations

import json

from tests.integration.controller import test_cli
from tests.integration.controller.test_cli import Cli

cli = test_cli.cli  # the fixture: a config of its own in tmp_path


def rows(cli: Cli, query: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in cli("sql", "--json", query).stdout.splitlines()]


def test_redaction_from_the_command_line(cli: Cli) -> None:
    cli("deploy")
    done = cli("redact", "config-key", "timeout", "--reason", "back to the default")
    assert done.stdout.strip() == "config-key timeout redacted"
    assert rows(cli, "SELECT * FROM config WHERE key = 'timeout'") == []
    [tombstone] = rows(cli, "SELECT * FROM event_log WHERE event_type = 'CONFIG_KEY_REMOVED'")
    assert "back to the default" in json.dumps(tombstone)

    again = cli("redact", "config-key", "timeout", "--reason", "again", expect=1)
    assert 'not_found: config key "timeout" does not exist' in again.stderr
    module_event = cli("redact", "event", "sys:1", "--reason", "audit", expect=1)
    assert "invalid_argument: " in module_event.stderr
    assert "SYSTEM_INITIALIZED" in module_event.stderr
    missing = cli("redact", "version", "v9", "--reason", "poison", expect=1)
    assert 'not_found: state version "v9" does not exist' in missing.stderr
    blank = cli("redact", "delta", "s:1", "--reason", " ", expect=1)
    assert "invalid_argument: reason is empty" in blank.stderr
    no_reason = cli("redact", "event", "e1", expect=2)
    assert "--reason" in no_reason.stderr
