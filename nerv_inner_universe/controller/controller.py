"""`InnerUniverseController`: runs Inner Universe for a config, in deployment, server or admin
mode; a facade over one file per job.

- `supervision`: the server process, started and stopped without blocking the loop, watched
  and restarted within a budget;
- `deployment`: the module, publishing it, its configuration, making that durable;
- `subscriptions`: server mode's handlers and subscription;
- `status`: whether a server runs and what it holds;
- `maintenance`: backup, restore and their verification;
- `delegation`: the process serving ``db_path`` from another process (backup requests, stop);
- `translation`: the client's errors as the controller's; `tokens`: where the token lives;
  `mode`: the modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    DbConnection,
    LogRecord,
    SpacetimeError,
    SpacetimeHttp,
    SqlResult,
)
from nerv_inner_universe.controller import deployment
from nerv_inner_universe.controller.backup import BackupManifest
from nerv_inner_universe.controller.config import InnerUniverseConfig
from nerv_inner_universe.controller.delegation import (
    STOP_TIMEOUT,
    BackupRequests,
    request_backup,
    stop_serving,
)
from nerv_inner_universe.controller.deployment import Deployment
from nerv_inner_universe.controller.durability import CheckpointTarget
from nerv_inner_universe.controller.errors import (
    ControllerError,
    DurabilityError,
    NotDeployedError,
    RedactionRefusedError,
    RestoreError,
    ServerAlreadyRunningError,
    ServerDiedError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.export import ExportSummary, Progress, export_jsonl
from nerv_inner_universe.controller.importing import ImportSummary, import_jsonl
from nerv_inner_universe.controller.importing import Progress as ImportProgress
from nerv_inner_universe.controller.layout import DbLayout, write_json_atomic
from nerv_inner_universe.controller.maintenance import Maintenance, RestoreResult
from nerv_inner_universe.controller.mode import Mode
from nerv_inner_universe.controller.pidfile import (
    ControllerRecord,
    live_record,
    read_record,
    remove_record,
    write_record,
)
from nerv_inner_universe.controller.process import ServerProcess, data_dir_locked, free_port
from nerv_inner_universe.controller.status import ServerStatus, probe
from nerv_inner_universe.controller.subscriptions import DEFAULT_TABLES, TableHandlers, subscribe
from nerv_inner_universe.controller.supervision import (
    RestartBudget,
    ServerExit,
    Supervisor,
    server_binary,
    start_server,
)
from nerv_inner_universe.controller.tables import count_rows
from nerv_inner_universe.controller.tokens import OwnerToken
from nerv_inner_universe.controller.translation import Place, translated
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.shown import shown

log = get_logger(__name__)

_READ_ONLY = re.compile(r"\s*(--[^\n]*\n\s*|/\*.*?\*/\s*)*SELECT\b", re.IGNORECASE | re.DOTALL)
"""A statement that starts with SELECT, after blanks and comments."""

REQUEST_TIMEOUT = 300.0
"""Seconds a backup asked of the serving process may take."""


class InnerUniverseController:
    """Use as ``async with InnerUniverseController(config) as controller``; `stop` runs on exit.

    Deployment mode starts the server on ``db_path``, publishes (or updates) the module as the
    owner identity kept with the data and writes the configuration into the module. Server
    mode starts the server (or attaches to one already serving: another process's, or
    ``server_url``), connects a client and subscribes with the caller's handlers. Either way
    a watcher notices when the server dies, and `stop` leaves no process behind. No coroutine
    blocks the event loop: starting, stopping and building run their waits in worker threads.
    """

    def __init__(
        self,
        config: InnerUniverseConfig,
        *,
        server_binary: Path | None = None,
        module_wasm: Path | None = None,
        on_server_exit: Callable[[ServerExit], object] | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        """``server_binary`` and ``module_wasm`` default to what `inner-universe setup` built;
        ``on_server_exit`` hears of every exit the controller did not ask for; ``stop_timeout``
        is the seconds a server gets between SIGTERM and SIGKILL."""
        self.config = config
        self.layout = DbLayout(config.db_path)
        self.deployment: Deployment | None = None
        self._server_binary = server_binary
        self._module_wasm = module_wasm
        self._on_server_exit = on_server_exit
        self._stop_timeout = stop_timeout
        self._token = OwnerToken(config, self.layout)
        self._mode: Mode | None = None
        self._url: str | None = None
        self._supervisor: Supervisor | None = None
        self._http: SpacetimeHttp | None = None
        self._client: DbConnection | None = None
        self._finished = asyncio.Event()
        self._failure: ServerDiedError | None = None
        self._maintenance = asyncio.Lock()
        self._requests = BackupRequests(self.layout, self.backup)
        self._log = log.bind(database=config.database, db_path=str(config.db_path))
        self._operations = Maintenance(
            self.layout,
            config.database,
            binary=self._binary,
            server_log=config.server_log,
            timeout=config.timeout,
            stop_timeout=stop_timeout,
            translate=self._translated,
            log=self._log,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what is running ------------------------------------------------------------------

    @property
    def mode(self) -> Mode | None:
        """The mode once started; None when stopped."""
        return self._mode

    @property
    def url(self) -> str | None:
        """The server's base URL while started."""
        return self._url

    @property
    def process(self) -> ServerProcess | None:
        """The server this controller started; None when it attached to one."""
        return self._supervisor.process if self._supervisor is not None else None

    @property
    def client(self) -> DbConnection | None:
        """The connected client of deployment or server mode."""
        return self._client

    @property
    def http(self) -> SpacetimeHttp:
        """The HTTP API as the owner (deployment) or the configured identity; ControllerError
        before a start."""
        if self._http is None:
            raise ControllerError("the controller is not started; call a start_*_mode() first")
        return self._http

    @property
    def is_local(self) -> bool:
        """Whether the server runs on ``db_path`` here (no ``server_url``)."""
        return self.config.server_url is None

    # --- modes ----------------------------------------------------------------------------

    async def start_deployment_mode(self, *, wipe: bool = False) -> DbConnection:
        """Starts (or attaches to) the server, publishes the module as the owner, writes the
        configuration into the module and returns a connected client. Builds the module
        first (in a worker thread) when it is missing. ``wipe`` deletes the database and all
        its data first: only ever on explicit request."""
        wasm = await deployment.module_wasm(self._module_wasm)
        async with self._starting(Mode.DEPLOYMENT):
            http, process = self.http, self.process
            if http.token is None:
                with self._translated("creating the owner identity"):
                    credentials = await http.create_identity()
                http.token = credentials.token
                self._save_token(credentials.token)
                await self._guard_database()
                self._log.info(
                    "owner_identity_created",
                    identity=credentials.identity.hex,
                    token_file=str(self._token.path),
                )
            with self._translated(f"publishing {wasm}"):
                before = None
                if process is not None:
                    before = await deployment.known_database(http, self.config.database, process)
                self.deployment = await deployment.publish(
                    http, self.config.database, wasm, wipe=wipe
                )
            if self.is_local:
                write_json_atomic(self.layout.deployment_file, attrs.asdict(self.deployment))
            client = await self._connect()
            with self._translated("writing the configuration"):
                await deployment.write_configuration(client, self.config.module_config)
            if process is not None:  # a server elsewhere is its operator's to make durable
                with self._translated("making the deployment durable"):
                    recreated = wipe or self.deployment.op == "created"
                    await deployment.make_durable(
                        http, self.config.database, process, before, recreated=recreated
                    )
            self._log.info(
                "deployed",
                op=self.deployment.op,
                url=self._url,
                module_sha256=self.deployment.module_sha256,
                config=self.config.module_config,
            )
            return client

    async def start_server_mode(
        self,
        *,
        handlers: Mapping[str, TableHandlers] | None = None,
        tables: Sequence[str] = DEFAULT_TABLES,
        attach: bool = True,
    ) -> DbConnection:
        """Starts the server, or attaches to the one serving this config (``server_url``, or
        another process's controller on ``db_path``; ``attach=False`` refuses that), connects
        and subscribes to ``tables`` and every table in ``handlers``, handlers registered
        first so they see the existing rows as inserts."""
        async with self._starting(Mode.SERVER, attach=attach):
            client = await self._connect()
            with self._translated("subscribing"):
                names = await subscribe(client, tables, handlers or {})
            self._log.info("serving", url=self._url, subscribed=names, attached=self._attached)
            return client

    async def start_admin_mode(self) -> SpacetimeHttp:
        """For one-off operator work (status, SQL, logs, export): the running server if one
        serves this config, else one started on a private port no client knows, so nothing
        else writes meanwhile. Raises NotDeployedError, creating nothing, when ``db_path``
        holds no data dir (nothing was deployed there: a wrong or missing config)."""
        if self.is_local and not self.layout.data_dir.is_dir():
            raise NotDeployedError(
                f"nothing is deployed in {self.config.db_path.absolute()} (it holds no data); "
                "pass the config that names your database (-c), or deploy first "
                "(`inner-universe deploy`)"
            )
        async with self._starting(Mode.ADMIN, private=True):
            with self._translated("reading the schema"):
                await self.http.schema(self.config.database, refresh=True)
            return self.http

    async def stop(self) -> None:
        """Disconnects, then stops the server this controller started (durably, see
        `ServerProcess.stop`; SIGKILL after ``stop_timeout``). A backup in progress finishes
        first. Safe to call twice and after a failed start."""
        async with self._maintenance:
            await self._teardown()

    def request_stop(self) -> None:
        """Makes `wait` return (from a signal handler, say); call `stop` afterwards."""
        self._finished.set()

    async def wait(self) -> None:
        """Returns when `request_stop` or `stop` is called; raises ServerDiedError when the
        server died and was not restarted."""
        await self._finished.wait()
        if self._failure is not None:
            raise self._failure

    async def stop_serving(
        self,
        *,
        timeout: float = STOP_TIMEOUT,  # noqa: ASYNC109 - SIGKILL after it, in a worker thread
    ) -> ControllerRecord | None:
        """Stops the process that serves this config's ``db_path`` (`inner-universe serve`, an
        application's controller, elsewhere): closes the database for writes and waits until
        what it acknowledged is on disk, as the owner (the token kept with the data), then
        SIGTERM, SIGKILL after ``timeout`` seconds (see `delegation.stop_serving`). Returns
        the record of what was stopped, None when nothing ran. Raises ControllerError for a
        remote config, DataDirLockedError when a server no controller started holds the data
        dir, DurabilityError (the process stopped all the same) when the stop was not
        durable or the server had crashed before it."""
        self._require_local("stop")
        token = self._load_token()
        target = CheckpointTarget(self.config.database, token) if token is not None else None
        return await asyncio.to_thread(stop_serving, self.layout, target, timeout=timeout)

    # --- queries --------------------------------------------------------------------------

    async def row_counts(self) -> dict[str, int]:
        """Rows per table of the database."""
        with self._translated("counting rows"):
            return await count_rows(self.http, self.config.database)

    async def sql(self, query: str) -> list[SqlResult]:
        """Runs one SQL query (``SELECT``) as the controller's identity. Raises ControllerError
        for anything else: SQL's INSERT, UPDATE and DELETE, which the owner may run, would
        change rows past every reducer's validation and the event log."""
        if not _READ_ONLY.match(query) or ";" in query.strip().rstrip(";"):
            raise ControllerError(
                "sql runs one SELECT only; change data through the reducers, which validate "
                "and log every change"
            )
        with self._translated("running SQL"):
            return await self.http.sql(self.config.database, query)

    async def module_logs(
        self, *, num_lines: int | None = None, follow: bool = False
    ) -> AsyncIterator[LogRecord]:
        """The module's log lines (owner only); with ``follow``, new ones as they come."""
        with self._translated("reading the module's logs"):
            if follow:
                async for record in self.http.follow_logs(self.config.database, num_lines):
                    yield record
            else:
                for record in await self.http.logs(self.config.database, num_lines):
                    yield record

    async def status(self) -> ServerStatus:
        """Whether a server runs for this config, and what it holds; starts nothing."""
        return await probe(self.config, self._load_token())

    # --- recovery -------------------------------------------------------------------------

    async def redact(self, kind: contract.RedactedKind, target_id: str, reason: str) -> None:
        """Redacts ``kind`` ``target_id`` (an event, a timeline's head version, a stream's last
        unredacted delta; removes a config key) with ``reason``, as the controller's identity,
        which must be an admin; the module leaves a tombstone in ``event_log`` and replay
        leaves the row out (README, "Redaction"). Raises RedactionRefusedError with the
        module's code (nothing changed), ControllerError before a start or when the server
        cannot be reached."""
        await self._guard_database(writes=True)
        call = contract.redaction(kind, target_id, reason)
        with self._translated(f"redacting {kind} {shown(target_id)}"):
            try:
                await call.send_http(self.http, self.config.database)
            except contract.ReducerRefusedError as refused:
                raise RedactionRefusedError(str(refused.refusal), refused.code) from refused
        self._log.warning("redacted", kind=str(kind), target_id=target_id, reason=reason)

    # --- backup, restore, export, import --------------------------------------------------

    async def backup(
        self,
        destination: Path,
        *,
        on_delegated: Callable[[ControllerRecord], object] | None = None,
    ) -> BackupManifest:
        """Writes a .tar.gz of ``db_path`` with a manifest, consistently (see
        `Maintenance.backup`). A server this controller runs is paused for the copy and
        resumed on the same address (its clients reconnect). When another process serves
        ``db_path``, that process is asked to take the backup (``on_delegated`` hears of it
        first); a controller serving it in this process is not. Raises BackupError,
        ServerAlreadyRunningError, ControllerError for a remote config."""
        self._require_local("backup")
        record = live_record(self.layout)
        process = self.process
        if record is not None and (process is None or record.server_pid != process.pid):
            if record.is_this_process:
                raise ServerAlreadyRunningError(
                    f"another controller of this process serves {self.layout.root}; take the "
                    "backup through it (it pauses its server), or stop it first"
                )
            if on_delegated is not None:
                on_delegated(record)
            self._log.info("backup_delegated", pid=record.pid)
            return await request_backup(self.layout, record, destination, timeout=REQUEST_TIMEOUT)
        async with self._maintenance:
            supervisor = self._supervisor
            pause = supervisor.paused() if supervisor is not None else contextlib.nullcontext()
            return await self._operations.backup(destination, pause=pause)

    async def restore(self, archive: Path, *, force: bool = False) -> RestoreResult:
        """Restores a backup into ``db_path`` after checking every file against the manifest
        and the restored row counts against the counts it recorded. Refuses while a server
        runs on ``db_path``, and a non-empty ``db_path`` unless ``force`` (which moves the old
        content aside rather than deleting it). On refusal ``db_path`` is untouched."""
        self._require_local("restore")
        if self._mode is not None:
            raise RestoreError("stop the controller before restoring into its db_path")
        record = live_record(self.layout)
        if record is not None or data_dir_locked(self.layout.data_dir):
            holder = f"process {record.pid}" if record is not None else "a running server"
            raise RestoreError(
                f"{holder} uses {self.layout.root}; stop it first (`inner-universe stop`); "
                "nothing changed"
            )
        return await self._operations.restore(archive, force=force)

    async def import_export(
        self, source: Path, *, progress: ImportProgress | None = None
    ) -> ImportSummary:
        """Loads an export into this (fresh) database, every row exactly as exported
        (`eventsourcing` stores included, their ``row_id`` renumbered); returns once a stop of
        the server this controller runs would keep them. Raises DataImportError for a file
        that is no complete export, ImportRefusedError (with the module's ``code``) when the
        module refuses a row or a non-fresh database."""
        await self._guard_database(writes=True)  # opens it for writes, if a stop closed it
        with self._translated("importing"):
            summary = await import_jsonl(self.http, self.config.database, source, progress=progress)
        process = self.process
        if process is not None:
            await asyncio.to_thread(process.make_durable)
        return summary

    async def export(self, destination: Path, *, progress: Progress | None = None) -> ExportSummary:
        """Every table as JSON Lines, consistent as of one point (see `export`); ExportError
        when a write committed during each attempt's reads."""
        with self._translated("exporting"):
            return await export_jsonl(
                self.http, self.config.database, destination, progress=progress
            )

    def accept_backup_requests(self) -> None:
        """Lets `inner-universe backup` in another process ask this one for a backup (it
        sends SIGUSR1). Call from the main thread, with the server started."""
        self._requests.accept()
        self._write_record()

    # --- internals: starting and stopping -------------------------------------------------

    @property
    def _attached(self) -> bool:
        return self._url is not None and self._supervisor is None

    @contextlib.asynccontextmanager
    async def _starting(
        self, mode: Mode, *, private: bool = False, attach: bool = True
    ) -> AsyncIterator[None]:
        """Brings up the server for ``mode``; anything failing on the way stops what was
        started, so a failed start leaves nothing running."""
        if self._mode is not None:
            raise ControllerError(f"already started in {self._mode} mode; stop() first")
        self._mode = mode
        self._failure = None
        self._finished.clear()
        try:
            await self._ensure_server(private=private, attach=attach)
            yield
        except BaseException:
            # The start's own error is the one to report; a checkpoint that cannot run (a
            # refused token, say) was logged by the stop as stop_not_durable.
            with contextlib.suppress(DurabilityError):
                await self.stop()
            raise

    async def _ensure_server(self, *, private: bool, attach: bool) -> None:
        record = live_record(self.layout) if self.is_local else None
        if self.config.server_url is not None:
            self._url = self.config.url
        elif record is not None:  # another controller serves db_path (maybe in this process)
            if not attach:
                raise ServerAlreadyRunningError(
                    f"process {record.pid} already serves {self.layout.root} at {record.url} "
                    f"({record.mode} mode); stop it first (`inner-universe stop`)"
                )
            self._url = record.url
        else:
            supervisor = self._supervise(private=private)
            await start_server(supervisor.process)
            self._supervisor = supervisor
            self._url = supervisor.process.base_url
            self._write_record()
            if not private:
                supervisor.watch()
        self._http = SpacetimeHttp(self._url, token=self._load_token(), timeout=self.config.timeout)
        await self._guard_database()
        if self._attached:
            try:
                await self._http.health()
            except SpacetimeError as error:
                raise ServerUnreachableError(
                    f"no SpacetimeDB server answers at {self._url} ({error}); check that it "
                    "runs and that server_url is right"
                ) from error
            self._log.info("attached", url=self._url)

    def _supervise(self, *, private: bool) -> Supervisor:
        """A supervisor of a new server: on the configured address, or (``private``) on a
        loopback port no client knows."""
        process = ServerProcess(
            self._binary(),
            self.layout.root,
            host="127.0.0.1" if private else self.config.address,
            port=free_port() if private else self.config.port,
            log_file=self.config.server_log,
        )
        return Supervisor(
            process,
            stop_timeout=self._stop_timeout,
            restart=RestartBudget() if self.config.restart_on_exit else None,
            on_exit=self._on_server_exit,
            on_relaunched=self._write_record,
            on_died=self._on_server_died,
            log=self._log,
        )

    def _on_server_died(self, failure: ServerDiedError) -> None:
        record = read_record(self.layout)
        if record is not None:
            remove_record(self.layout, record.server_pid)
        self._failure = failure
        self._finished.set()

    async def _teardown(self) -> None:
        self._requests.close()
        client, self._client = self._client, None
        http, self._http = self._http, None
        supervisor, self._supervisor = self._supervisor, None
        try:
            if client is not None:
                with contextlib.suppress(SpacetimeError):
                    await client.disconnect()
            if http is not None:
                await http.aclose()
        finally:
            if supervisor is not None:
                server_pid = supervisor.process.pid
                await supervisor.stop()
                remove_record(self.layout, server_pid)
            if self._mode is not None:
                self._log.info("controller_stopped", mode=self._mode.value)
            self._mode = None
            self._url = None
            self._finished.set()

    async def _guard_database(self, *, writes: bool = False) -> None:
        """A server this controller runs for writing (deployment and server mode, an import)
        stops only once the database's acknowledged writes are on disk (`ServerProcess.stop`),
        and opens it for writes now and on every start (a stop closes it); the owner token is
        an admin's, as the module's ``checkpoint`` and ``reopen`` reducers need. Admin mode
        only reads, and its stop must change nothing: the checkpoint's own call would log a
        connection. A database that cannot be opened is logged (``database_not_reopened``),
        not raised: a refused token or another owner's is reported by the start's own checks
        right after, with what to do; otherwise its writes are refused with ``unavailable``
        (the configuration's, at a deployment) and the log says why."""
        token = self._http.token if self._http is not None else None
        process = self.process
        if (writes or self._mode is not Mode.ADMIN) and process is not None and token is not None:
            try:
                await asyncio.to_thread(process.register_database, self.config.database, token)
            except DurabilityError as error:
                self._log.error(
                    "database_not_reopened", database=self.config.database, error=str(error)
                )

    def _write_record(self) -> None:
        process = self.process
        if process is None or self._mode is None:
            return
        write_record(
            self.layout,
            ControllerRecord.for_this_process(
                server_pid=process.pid,
                url=process.base_url,
                database=self.config.database,
                mode=self._mode.value,
                answers_requests=self._requests.accepting,
            ),
        )

    def _binary(self) -> Path:
        return server_binary(self._server_binary)

    def _load_token(self) -> str | None:
        with self._translated("reading the token"):
            return self._token.load()

    def _save_token(self, token: str) -> None:
        with self._translated("saving the token"):
            self._token.save(token)

    async def _connect(self) -> DbConnection:
        http = self.http
        if http.token is None and self.is_local:
            raise NotDeployedError(
                f"no owner token at {self._token.path}: deploy first (`inner-universe "
                "deploy`), or restore a backup, which carries it"
            )
        client = DbConnection(
            http.base_url,
            self.config.database,
            token=http.token,
            token_store=self._token.store(),
            call_timeout=self.config.timeout,
        )
        with self._translated("connecting"):
            await client.connect()
        self._client = client
        return client

    def _require_local(self, what: str) -> None:
        if not self.is_local:
            raise ControllerError(
                f"{what} works on the data dir, so it runs where db_path is; this config "
                f"attaches to {self.config.server_url}"
            )

    def _translated(self, action: str) -> contextlib.AbstractContextManager[None]:
        """A block turning the client's errors into the controller's (see `translation`)."""
        place = Place(
            self.config.database,
            self._url or self.config.url,
            self._token.path,
            self.layout.keys_dir if self.is_local else None,
        )
        return translated(action, place)
