"""`ServerProcess`: one `spacetimedb-standalone` on loopback with its own data dir and keys.

It owns the process from start to stop: a free port is checked, the data dir lock is checked,
the child runs in its own process group with a parent-death signal (no orphan even if Python is
killed), its output goes to a log file and structlog. `stop` first closes the registered
databases for writes and makes every transaction they acknowledged durable (see
`durability`), then sends SIGTERM and SIGKILL, then fsyncs the data dir; a start opens them
for writes again.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import errno
import fcntl
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from nerv_inner_universe.controller.durability import (
    DURABILITY_TIMEOUT,
    CheckpointTarget,
    checkpoint,
    reopen,
    sync_tree,
)
from nerv_inner_universe.controller.errors import (
    DataDirLockedError,
    DurabilityError,
    PortInUseError,
    ServerBinaryMissingError,
    ServerStartError,
)
from nerv_inner_universe.controller.layout import DbLayout, open_private
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def data_dir_locked(data_dir: Path) -> bool:
    """SpacetimeDB holds an flock on `spacetime.pid` while it runs."""
    pid_file = data_dir / "spacetime.pid"
    if not pid_file.exists():
        return False
    with pid_file.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Holds the lock a server would take, so none can start on ``data_dir`` meanwhile (a
    consistent copy); raises DataDirLockedError if a server holds it now."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "spacetime.pid").open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirLockedError(
                f"{data_dir} is locked by a running server; stop it first (`inner-universe stop`)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def signal_when_parent_dies(signal_number: signal.Signals) -> None:
    """Asks Linux to send ``signal_number`` to this process when the thread that started it
    ends (its process killed, even with SIGKILL). For a child, run before exec
    (`subprocess.Popen`'s ``preexec_fn``, which runs after its ``user``/``group`` change: a
    later change of user would clear the request)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal_number)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server if the process that started it dies; and make every
    file the server creates private (umask 077), the signing key it generates first of all."""
    os.umask(0o077)
    signal_when_parent_dies(signal.SIGTERM)


class ServerProcess:
    """A `spacetimedb-standalone start` child bound to ``host:port`` with data under ``root``.

    Layout of ``root``: ``data/`` (SpacetimeDB's data dir), ``keys/`` (the JWT key pair that
    signs tokens; kept with the data because tokens and ownership only validate against it),
    ``server.log`` (the child's output, unless ``log_file`` puts it elsewhere).
    """

    def __init__(
        self,
        binary: Path,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        in_memory: bool = False,
        log_file: Path | None = None,
        durability_timeout: float = DURABILITY_TIMEOUT,
    ) -> None:
        """``durability_timeout``: seconds a stop's checkpoint may take (see `make_durable`)."""
        self.binary = binary
        self.root = root
        self.host = host
        self.port = port
        self.in_memory = in_memory
        self.durability_timeout = durability_timeout
        self.layout = DbLayout(root)
        self.log_file = log_file or root / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._tail: deque[str] = deque(maxlen=60)
        self._checkpoints: dict[str, CheckpointTarget] = {}
        self._healthy = False
        """Set once the launched server answered (and its databases were opened for writes)."""
        self._state = threading.Lock()
        """Held while a database is opened for writes and while a stop begins: a stop that
        has begun sees no reopen after it."""
        self._stopping = False
        """Set (under ``_state``) when a stop begins; only the next `launch` clears it."""
        self._launches = 0
        """Counts launches: a health wait opens databases only for the launch it waits on."""
        self._stop_lock = threading.Lock()
        """Makes concurrent stops (a watcher's and a caller's) run one after the other."""

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def register_database(self, database: str, token: str) -> None:
        """Makes `stop` close ``database`` for writes and wait until everything it acknowledged
        is on disk, and every start open it again; ``token`` must be an admin's (the
        publisher's) for the module's ``checkpoint`` and ``reopen`` reducers. On a server that
        answers already, the database is opened for writes now (a stop by an earlier process
        left it closed); raises DurabilityError when that fails."""
        target = CheckpointTarget(database, token)
        self._checkpoints[database] = target
        if self._healthy and self.running():
            self._reopen([target], launch=self._launches)

    def _reopen(self, targets: list[CheckpointTarget], *, launch: int) -> bool:
        """Opens ``targets`` for writes (`durability.reopen`) unless a stop has begun or
        another launch followed ``launch`` (nothing may open what a stop closes); returns
        whether it did. DurabilityError naming those it could not open (the others are
        open)."""
        if self.in_memory:  # nothing survives its stop, a closed state neither
            return True
        failures = []
        with self._state:  # a stop beginning meanwhile waits, then closes them again
            if self._stopping or launch != self._launches:
                log.info("reopen_skipped_stopping", url=self.base_url)
                return False
            for target in targets:
                try:
                    reopen(self.base_url, target, timeout=self.durability_timeout)
                except DurabilityError as error:
                    failures.append(str(error))
        if failures:
            raise DurabilityError(
                f"the server at {self.base_url} runs, but a database stays closed for writes "
                f"(every write is refused with 'unavailable'): {'; '.join(failures)}"
            )
        return True

    def make_durable(self, *, timeout: float | None = None, close: bool = False) -> None:
        """Returns once every transaction the registered databases acknowledged so far is in
        their commit logs on disk; with ``close`` (`stop`), they are closed for writes first,
        in the same transaction as the checkpoint, until the next start opens them. Raises
        DurabilityError naming the databases it could not confirm (the others are
        confirmed). An ``in_memory`` server keeps nothing on disk: there is nothing to wait
        for."""
        if self.in_memory:
            return
        failures = []
        for target in list(self._checkpoints.values()):
            try:
                checkpoint(
                    self.base_url,
                    self.layout.data_dir,
                    target,
                    timeout=self.durability_timeout if timeout is None else timeout,
                    close=close,
                )
            except DurabilityError as error:
                failures.append(str(error))
        if failures:
            raise DurabilityError("; ".join(failures))

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def argv(self) -> list[str]:
        argv = [
            str(self.binary),
            "start",
            "--listen-addr",
            f"{self.host}:{self.port}",
            "--data-dir",
            str(self.layout.data_dir),
            "--jwt-pub-key-path",
            str(self.layout.public_key_file),
            "--jwt-priv-key-path",
            str(self.layout.signing_key_file),
        ]
        if self.in_memory:
            argv.append("--in-memory")
        return argv

    def start(self, *, timeout: float = 30.0) -> None:
        """Starts the server and returns once `/v1/ping` answers (at most ``timeout`` seconds;
        ServerStartError otherwise) and the registered databases are open for writes
        (DurabilityError otherwise, the server running). Blocks: a coroutine uses
        `start_async`."""
        if self.launch():
            self._wait_healthy(timeout)

    async def start_async(self, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a thread waits
        """`start` for a coroutine: spawns in the calling thread (the event loop's, which
        lives as long as the server should: the parent-death signal follows the thread that
        spawned the child) and waits for `/v1/ping` in a worker thread."""
        if self.launch():
            await self.wait_healthy_async(timeout=timeout)

    async def wait_healthy_async(self, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Returns once the launched server answers `/v1/ping` and the registered databases are
        open for writes, without blocking the event loop; ServerStartError (and the server
        stopped) when it exits or stays silent for ``timeout`` seconds, DurabilityError when a
        database cannot be opened (the server running)."""
        await asyncio.to_thread(self._wait_healthy, timeout)

    def launch(self) -> bool:
        """Spawns the server without waiting for it to answer; False when it runs already.
        Raises ServerBinaryMissingError, PortInUseError or DataDirLockedError, spawning
        nothing. Call it from a thread that lives as long as the server should."""
        if self.running():
            return False
        if not self.binary.is_file():
            raise ServerBinaryMissingError(
                f"{self.binary} does not exist; run `inner-universe setup` to build "
                "spacetimedb-standalone 1.2.0"
            )
        if port_in_use(self.host, self.port):
            raise PortInUseError(
                f"{self.host}:{self.port} is already in use; stop what listens there or "
                "choose another port (config key `port`)"
            )
        if data_dir_locked(self.layout.data_dir):
            raise DataDirLockedError(
                f"{self.layout.data_dir} is locked by another running server; stop it first "
                "(`inner-universe stop`) or use another db_path"
            )
        self.layout.data_dir.mkdir(parents=True, exist_ok=True)
        self.layout.secure_keys()
        log.info("server_starting", url=self.base_url, data_dir=str(self.layout.data_dir))
        self._tail.clear()
        self._healthy = False
        with self._state:
            self._stopping = False
            self._launches += 1
        self._proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl must run in the child
        )
        atexit.register(self._stop_at_exit)
        assert self._proc.stdout is not None  # stdout=PIPE
        self._reader = threading.Thread(
            target=self._pump_output, args=(self._proc.stdout,), daemon=True
        )
        self._reader.start()
        return True

    def _pump_output(self, stream: IO[bytes]) -> None:
        """Drains the server's output into ``log_file`` until it closes. A log file that
        cannot be written (a full disk) is reported once and the pipe is still drained: a
        full pipe would stall the server."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        sink = open_private(self.log_file, "ab")  # the output names identities
        writable = True
        try:
            for raw in stream:
                if writable:
                    try:
                        sink.write(raw)
                        sink.flush()
                    except OSError as error:
                        writable = False
                        log.warning(
                            "server_log_unwritable", path=str(self.log_file), error=str(error)
                        )
                line = _ANSI.sub("", raw.decode(errors="replace")).rstrip()
                self._tail.append(line)
                log.debug("server_output", line=line)
        finally:
            with contextlib.suppress(OSError):  # what a full disk could not take is gone
                sink.close()

    def _wait_healthy(self, timeout: float) -> None:
        """Waits for the launch under way; ServerStartError when a stop begins meanwhile (a
        cancelled `wait_healthy_async` leaves this thread running: it must not go on)."""
        launch = self._launches
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._stopping or launch != self._launches:
                    raise ServerStartError("the server was stopped while it was starting")
                if not self.running():
                    self._join_reader()
                    raise ServerStartError(
                        f"spacetimedb-standalone exited with {self._returncode()} while "
                        f"starting; last output:\n{self.last_output()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.base_url}/v1/ping").status_code == 200:
                        log.info("server_started", url=self.base_url, pid=self.pid)
                        self._healthy = True
                        if not self._reopen(list(self._checkpoints.values()), launch=launch):
                            raise ServerStartError("the server was stopped while it was starting")
                        return
                time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"spacetimedb-standalone did not answer at {self.base_url} within {timeout:.0f} s; "
            f"last output:\n{self.last_output()}"
        )

    def _returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)

    def last_output(self) -> str:
        return "\n".join(self._tail)

    async def stop_async(self, *, timeout: float = 10.0) -> int | None:  # noqa: ASYNC109
        """`stop` for a coroutine: the checkpoint and the waiting run in a worker thread."""
        return await asyncio.to_thread(self.stop, timeout=timeout)

    def stop(self, *, timeout: float = 10.0) -> int | None:
        """Closes every registered database for writes and waits until the transactions it
        acknowledged are on disk (`make_durable`; later writes are refused with
        ``unavailable``: none is acknowledged and then lost), SIGTERMs the server's process
        group, SIGKILLs it after ``timeout`` seconds, and fsyncs the data dir. Returns the
        exit code (None if it was not running). A stop never hangs: when the checkpoint
        fails, the server is stopped all the same and then DurabilityError says which
        database may have lost what it acknowledged last (the next start opens it for writes
        again either way). Once a stop has begun, nothing opens the databases again until the
        next `launch`. A server that had exited already is logged (``server_had_exited``):
        what it acknowledged in its last half second may be lost. Blocks: a coroutine uses
        `stop_async`."""
        with self._stop_lock:
            return self._stop(timeout)

    def _stop(self, timeout: float) -> int | None:
        with self._state:  # waits for a reopen under way: the close below comes after it
            self._stopping = True
        proc = self._proc
        if proc is None:
            return None
        atexit.unregister(self._stop_at_exit)
        failure = None
        self._healthy = False
        if proc.poll() is not None and not self.in_memory and self._checkpoints:
            log.warning(
                "server_had_exited",
                pid=proc.pid,
                returncode=proc.returncode,
                detail="what it acknowledged in its last half second may be lost",
            )
        if proc.poll() is None:
            try:
                self.make_durable(close=True)
            except DurabilityError as error:
                failure = error
            if failure is not None:
                log.error("stop_not_durable", pid=proc.pid, error=str(failure))
            log.info("server_stopping", pid=proc.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("server_kill", pid=proc.pid, after_seconds=timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._join_reader()
        if proc.stdout is not None:
            proc.stdout.close()
        self._proc = None
        if not self.in_memory:
            sync_tree(self.layout.data_dir)
        log.info("server_stopped", returncode=proc.returncode)
        if failure is not None:
            raise DurabilityError(
                f"the server was stopped, but not durably: {failure}; what it acknowledged in "
                "its last half second may be lost"
            ) from failure
        return proc.returncode

    def _stop_at_exit(self) -> None:
        """The interpreter is exiting: stop as well as possible; an error is logged only."""
        with contextlib.suppress(DurabilityError):
            self.stop()

    def kill(self) -> None:
        """SIGKILL without a chance to flush: for crash tests."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self.stop()

    def restart(self, *, timeout: float = 30.0) -> None:
        """Stops and starts again on the same data dir, keys and port."""
        self.stop()
        self.start(timeout=timeout)
