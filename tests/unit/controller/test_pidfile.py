"""The controller record: liveness by pid and start time, stale records, terminating."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.pidfile import (
    ControllerRecord,
    is_alive,
    live_record,
    process_start,
    read_record,
    remove_record,
    terminate,
    write_record,
)


def record_for(pid: int, **changes: object) -> ControllerRecord:
    values: dict[str, object] = {
        "pid": pid,
        "pid_started": process_start(pid),
        "server_pid": None,
        "server_started": None,
        "url": "http://127.0.0.1:1",
        "database": "db",
        "mode": "server",
        "started_at": 0.0,
    }
    values.update(changes)
    return ControllerRecord(**values)  # type: ignore[arg-type]


def test_a_pid_is_alive_only_with_its_start_time() -> None:
    me = os.getpid()
    assert is_alive(me, process_start(me))
    assert not is_alive(me, (process_start(me) or 0) + 1), "a reused pid is another process"
    assert not is_alive(None, None)


def test_records_round_trip_and_stale_ones_are_removed(tmp_path: Path) -> None:
    layout = DbLayout(tmp_path)
    mine = ControllerRecord.for_this_process(
        server_pid=None, url="http://x:1", database="db", mode="server", answers_requests=True
    )
    write_record(layout, mine)
    assert read_record(layout) == mine
    assert live_record(layout) == mine
    remove_record(layout, server_pid=12345)
    assert read_record(layout) == mine, "only the record of this process's own server goes"
    remove_record(layout, server_pid=None)
    assert read_record(layout) is None

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    write_record(layout, record_for(child.pid, pid_started=1))
    assert live_record(layout) is None
    assert not layout.pid_file.exists()


def test_a_torn_record_reads_as_none(tmp_path: Path) -> None:
    layout = DbLayout(tmp_path)
    layout.pid_file.write_text('{"pid": 1')
    assert read_record(layout) is None
    layout.pid_file.write_text('{"pid": 1}')
    assert read_record(layout) is None


IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


def test_terminate_stops_the_controller_then_kills_a_stubborn_server() -> None:
    controller = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.readline()
    record = record_for(
        controller.pid, server_pid=server.pid, server_started=process_start(server.pid)
    )
    assert terminate(record, timeout=0.5).running, "zombies count as gone, so no reaping is needed"
    assert not record.controller_alive
    assert not record.server_alive
    assert not terminate(record, timeout=0.5).running
    assert controller.wait() == -15
    assert server.wait() == -9
    server.stdout.close()
