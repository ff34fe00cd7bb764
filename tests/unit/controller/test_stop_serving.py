"""`stop_serving` when the serving process's server had crashed before the stop (issue 9,
F4): the process is stopped all the same, and the stop says what may be lost."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nerv_inner_universe.controller.delegation import stop_serving
from nerv_inner_universe.controller.durability import CheckpointTarget
from nerv_inner_universe.controller.errors import DurabilityError
from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.pidfile import read_record, write_record
from tests.unit.controller.test_pidfile import record_for

WAIT = 60.0


def test_a_server_that_crashed_before_the_stop_is_reported_and_the_process_stopped(
    tmp_path: Path,
) -> None:
    layout = DbLayout(tmp_path / "db")
    crashed = subprocess.Popen([sys.executable, "-c", "pass"])
    crashed.wait(WAIT)  # reaped: it is gone
    serving = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        write_record(layout, record_for(serving.pid, server_pid=crashed.pid, server_started=1))
        with pytest.raises(DurabilityError) as failed:
            stop_serving(layout, CheckpointTarget("db", "token"), timeout=WAIT)
        assert f"process {serving.pid} was stopped" in str(failed.value)
        assert f"its server (pid {crashed.pid}) had exited before the stop" in str(failed.value)
        assert "last half second may be lost" in str(failed.value)
        assert serving.wait(WAIT) == -signal.SIGTERM
        assert read_record(layout) is None
    finally:
        serving.kill()
        serving.wait()


def test_without_a_token_nothing_is_checkpointed_and_the_process_is_stopped(
    tmp_path: Path,
) -> None:
    layout = DbLayout(tmp_path / "db")
    serving = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        record = record_for(serving.pid)  # no server, no owner token: nothing was deployed
        write_record(layout, record)
        assert stop_serving(layout, None, timeout=WAIT) == record
        assert serving.wait(WAIT) == -signal.SIGTERM
    finally:
        serving.kill()
        serving.wait()
