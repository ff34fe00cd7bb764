"""A quiet library: an application that sets up no logging sees nothing from Inner Universe on
stdout, and nothing below warning on stderr, while NERV persists through it for real."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.integration.http_api import Database

EVENTS = 300

# An application: NERV with the plugin, configured by variables only, publishing events and
# committing a version (the write paths that log every reducer outcome at debug level).
APPLICATION = f"""
import sys

from nerv_inner_universe import log
from nerv_inner_universe.nerv import Nerv

if sys.argv[1:] == ["--debug"]:
    log.configure("debug")
with Nerv({{"nerv": {{"plugins": ["inner_universe"]}}}}) as nerv:
    for step in range({EVENTS}):
        nerv.event_bus.publish("AGENT_STEP", {{"step": step}})
    nerv.temporal_store.commit({{"plan": ["a"]}}, "first plan")
"""


def run_application(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NERV_", "INNER_UNIVERSE_"))
    }
    env.update(
        NERV_INNER_UNIVERSE_URL=db.base_url,
        NERV_INNER_UNIVERSE_DATABASE=db.name,
        NERV_INNER_UNIVERSE_EVENTS="sync",
        INNER_UNIVERSE_TOKEN=db.token,
    )
    return subprocess.run(
        [sys.executable, "-c", APPLICATION, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def stored_events(db: Database) -> int:
    rows = db.sql("SELECT * FROM event_log WHERE event_type = 'AGENT_STEP'")
    return len(rows)


def test_without_logging_set_up_nothing_reaches_stdout_or_below_warning(
    inner_universe: Database,
) -> None:
    done = run_application(inner_universe)
    assert done.returncode == 0, done.stderr
    assert stored_events(inner_universe) == EVENTS, "the events were really written"
    assert done.stdout == ""
    below_warning = [
        line
        for line in done.stderr.splitlines()
        if "level=warning" not in line and "level=error" not in line
    ]
    assert below_warning == [], done.stderr


def test_an_application_that_asks_gets_debug_logs_on_stderr(inner_universe: Database) -> None:
    done = run_application(inner_universe, "--debug")
    assert done.returncode == 0, done.stderr
    assert stored_events(inner_universe) == EVENTS
    assert done.stdout == ""
    outcomes = [line for line in done.stderr.splitlines() if "reducer_outcome" in line]
    assert len(outcomes) >= EVENTS, done.stderr[-2000:]
    assert all("debug" in line for line in outcomes)
