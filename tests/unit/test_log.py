"""The library's logging, each case in a fresh interpreter (logging setup is process-wide):
quiet by default, the application's `logging` setup is honoured, `configure` and
``inner-universe -v``/``-vv`` show more. Nothing ever reaches stdout."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from nerv_inner_universe import log

EMIT = """
from nerv_inner_universe.log import get_logger
log = get_logger("nerv_inner_universe.client.connection")
log.debug("reducer_outcome", reducer="publish_event")
log.info("connected", database="db")
log.warning("reconnecting", attempt=1)
"""


def python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )


def test_with_nothing_set_up_only_warnings_reach_stderr() -> None:
    done = python(EMIT)
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["event=reconnecting attempt=1 level=warning"]


def test_an_application_s_logging_setup_decides() -> None:
    setup = "import logging, sys\nlogging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
    done = python(setup + EMIT)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "INFO:nerv_inner_universe.client.connection:event=connected database=db level=info",
        "WARNING:nerv_inner_universe.client.connection:event=reconnecting attempt=1 level=warning",
    ]


def test_records_carry_the_structured_entry() -> None:
    capture = """
import logging
entries = []
class Keep(logging.Handler):
    def emit(self, record):
        entries.append(record.structlog)
logging.getLogger("nerv_inner_universe").addHandler(Keep())
logging.getLogger("nerv_inner_universe").setLevel(logging.DEBUG)
"""
    done = python(capture + EMIT + "import json, sys\njson.dump(entries, sys.stderr)\n")
    assert done.stdout == ""
    entries = json.loads(done.stderr.splitlines()[-1])
    assert entries == [
        {"event": "reducer_outcome", "reducer": "publish_event", "level": "debug"},
        {"event": "connected", "database": "db", "level": "info"},
        {"event": "reconnecting", "attempt": 1, "level": "warning"},
    ]


def test_configure_shows_the_asked_level_as_json_lines_on_stderr() -> None:
    done = python('from nerv_inner_universe import log\nlog.configure("debug", json=True)\n' + EMIT)
    assert done.stdout == ""
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("reducer_outcome", "debug"),
        ("connected", "info"),
        ("reconnecting", "warning"),
    ]
    assert all("timestamp" in line for line in lines)


def test_configure_again_replaces_the_previous_setting() -> None:
    script = (
        "from nerv_inner_universe import log\n"
        'log.configure("debug")\nlog.configure("warning")\n' + EMIT
    )
    done = python(script)
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "reconnecting" in line


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        log.configure("loud")


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ((), "WARNING"),
        (("-v",), "INFO"),
        (("-vv",), "DEBUG"),
        (("-vvv",), "DEBUG"),
        (("-vv", "--log-level", "error"), "ERROR"),
    ],
)
def test_the_command_line_shows_more_with_v(flags: tuple[str, ...], level: str) -> None:
    script = f"""
import logging
from nerv_inner_universe.cli.main import cli
try:
    cli([*{list(flags)!r}, "status", "--help"])
except SystemExit:
    pass
print(logging.getLevelName(logging.getLogger("nerv_inner_universe").level))
"""
    done = python(script)
    assert done.stdout.splitlines()[-1] == level


def test_records_go_to_the_stderr_of_the_moment_even_after_the_old_one_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    log.configure("warning")
    first.close()  # a test runner's capture, gone
    monkeypatch.setattr(sys, "stderr", second)
    log.get_logger("nerv_inner_universe.test").warning("still_heard", n=1)
    assert "still_heard" in second.getvalue()
    log.configure(os.environ.get("NERV_TEST_LOG_LEVEL", "info"))
