"""A durable stop closes its databases for writes before the checkpoint that makes them
durable, so nothing is acknowledged after it and then lost (issue 9); the next start opens
them again, whether the stop went well or not."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent

from nerv_inner_universe.controller import DurabilityError, ServerProcess, free_port
from nerv_inner_universe.eventsourcing_module import InnerUniverseFactory
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.conftest import publish
from tests.integration.http_api import NONE, Database, entity_metadata
from tests.integration.module.test_stored_events import event

DEADLINE = 120.0
"""Seconds a test waits for a condition before it fails (a loaded machine is slow)."""


def wait_for(condition: threading.Event, what: str) -> None:
    """Waits until ``condition`` is set; fails naming ``what`` after `DEADLINE`."""
    assert condition.wait(DEADLINE), f"{what} did not happen within {DEADLINE:.0f} s"


class StopHeldWhileClosed(ServerProcess):
    """A real server whose stop waits, between its closing checkpoint and SIGTERM, until
    ``release`` is set: the test decides what happens while the database is closed."""

    def __init__(self, binary: Path, root: Path) -> None:
        super().__init__(binary, root, port=free_port())
        self.closed = threading.Event()
        self.release = threading.Event()

    def make_durable(self, *, timeout: float | None = None, close: bool = False) -> None:
        super().make_durable(timeout=timeout, close=close)
        if close:
            self.closed.set()
            wait_for(self.release, "the test's release of the stop")


class Hammer:
    """Inserts one new event after another through an `eventsourcing` application recorder
    until `finish`; keeps what the recorder reported: a success, or the error's text."""

    def __init__(self, db: Database) -> None:
        self.factory = InnerUniverseFactory(
            {
                "PERSISTENCE_MODULE": "nerv_inner_universe.eventsourcing_module",
                "SPACETIMEDB_URL": db.base_url,
                "SPACETIMEDB_DATABASE": db.name,
                "SPACETIMEDB_TOKEN": db.token,
                "SPACETIMEDB_CALL_TIMEOUT": "2",
            }
        )
        self.recorder = self.factory.application_recorder()
        self.succeeded: list[str] = []
        self.failed: dict[str, str] = {}
        self.refused_unavailable = threading.Event()
        self.enough = threading.Event()
        self.crashed: list[BaseException] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._done.is_set():
                originator = uuid.uuid4()
                try:
                    self.recorder.insert_events([StoredEvent(originator, 1, "t", b"{}")])
                except OperationalError as error:
                    self.failed[str(originator)] = str(error)
                    if "unavailable: " in str(error):
                        self.refused_unavailable.set()
                else:
                    self.succeeded.append(str(originator))
                    if len(self.succeeded) >= 20:
                        self.enough.set()
        except BaseException as error:  # the test reports it
            self.crashed.append(error)

    def finish(self) -> None:
        self._done.set()
        self._thread.join(DEADLINE)
        assert not self._thread.is_alive(), "the hammer did not finish"
        self.factory.close()
        assert not self.crashed, self.crashed


def test_nothing_the_recorder_reported_written_is_lost_by_a_stop(
    machine: SetupResult, tmp_path: Path
) -> None:
    server = StopHeldWhileClosed(machine.server_binary, tmp_path / "server")
    server.start()
    try:
        db = publish(server, machine.module_wasm)  # registered: its stop closes it
        hammer = Hammer(db)
        hammer.start()
        wait_for(hammer.enough, "20 acknowledged inserts")
        stop_errors: list[BaseException] = []

        def stop() -> None:
            try:
                server.stop()
            except BaseException as error:  # the test reports it
                stop_errors.append(error)

        stopper = threading.Thread(target=stop, daemon=True)
        stopper.start()
        wait_for(server.closed, "the closing checkpoint")
        # The stop waits now: an insert the recorder starts from here on is refused with
        # `unavailable` until its call_timeout runs out, and then reported as failed.
        wait_for(hammer.refused_unavailable, "an insert refused as unavailable")
        server.release.set()
        stopper.join(DEADLINE)
        assert not stopper.is_alive(), "the stop did not finish"
        assert not stop_errors, stop_errors
        hammer.finish()

        server.start()
        stored = {row["originator_id"] for row in db.sql("SELECT * FROM es_stored_event")}
        lost = [oid for oid in hammer.succeeded if oid not in stored]
        assert not lost, f"{len(lost)} of {len(hammer.succeeded)} acknowledged inserts lost"
        refused = [oid for oid, error in hammer.failed.items() if "unavailable: " in error]
        assert refused, "an insert after the close was refused"
        assert not stored.intersection(refused), "a refused insert changed nothing"
        db.ok("es_insert_events", "after_restart", [event(1)], NONE)  # open again
    finally:
        server.release.set()
        server.kill()


def test_a_database_stopped_closed_is_open_for_writes_after_the_next_start(
    isolated_inner_universe: Database, machine: SetupResult
) -> None:
    db = isolated_inner_universe
    db.server.stop()  # registered: closed, then durable, then SIGTERM
    # A server nobody registered the database with keeps it as the stop left it: closed.
    bare = ServerProcess(machine.server_binary, db.server.root, port=db.server.port)
    bare.start()
    try:
        refusal = db.fails("create_entity", "e1", "agent", entity_metadata())
        assert refusal.startswith("unavailable: ")
        bare.register_database(db.name, db.token)  # a running server: opened at once
        db.ok("create_entity", "e1", "agent", entity_metadata())
    finally:
        bare.stop()  # registered now: closed again
    db.server.start()  # opens what it knows
    db.ok("create_entity", "e2", "agent", entity_metadata())
    assert sorted(row["id"] for row in db.sql("SELECT * FROM entity")) == ["e1", "e2"]


def test_a_database_left_closed_by_a_failed_stop_is_open_after_the_next_start(
    isolated_inner_universe: Database,
) -> None:
    db = isolated_inner_universe
    db.ok("checkpoint", "0f" * 16, True)  # what a stop's checkpoint did before it failed
    db.server.make_durable()  # the closed state is on disk
    db.server.kill()  # no checkpoint: the process is dead already
    db.server.start()
    db.ok("create_entity", "e1", "agent", entity_metadata())
    assert [row["id"] for row in db.sql("SELECT * FROM entity")] == ["e1"]
    assert db.sql("SELECT * FROM write_fence") == []


def test_a_database_that_cannot_be_opened_is_reported(isolated_inner_universe: Database) -> None:
    db = isolated_inner_universe
    stranger = db.new_identity()  # not an admin: its reopen is refused
    with pytest.raises(DurabilityError, match="stays closed for writes") as failed:
        db.server.register_database(db.name, stranger)
    assert "permission_denied: reopen is admin-only" in str(failed.value)
    db.server.register_database(db.name, db.token)  # the fixture's stop checkpoints with it
