"""`InnerUniverseController`: runs Inner Universe for a config, in deployment or server mode.

Deployment mode starts the server on ``db_path``, publishes (or updates) the module as the
owner identity kept with the data, and writes the configuration into the module. Server mode
starts the server (or attaches to one already serving: another process's, or ``server_url``),
connects a client and subscribes to tables with the caller's handlers. Either way a watcher
notices when the server dies, and `stop` leaves no process behind.

Backup, restore and export live here too, because each needs to know whether a server runs on
the data and to stop and start it around the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import shutil
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    DbConnection,
    EventContext,
    HttpError,
    LogRecord,
    NotFoundError,
    SpacetimeConnectionError,
    SpacetimeError,
    SpacetimeHttp,
    SqlResult,
    TokenStore,
)
from nerv_inner_universe.contract import Table
from nerv_inner_universe.controller.backup import BackupManifest, unpack_archive, write_archive
from nerv_inner_universe.controller.config import InnerUniverseConfig
from nerv_inner_universe.controller.delegation import REQUEST_SIGNAL, answer, pending_requests
from nerv_inner_universe.controller.durability import DURABILITY_TIMEOUT, DatabaseRecord
from nerv_inner_universe.controller.errors import (
    AuthenticationError,
    ControllerError,
    DurabilityError,
    ModuleUpdateRejectedError,
    NotDeployedError,
    PortInUseError,
    RestoreError,
    ServerAlreadyRunningError,
    ServerBinaryMissingError,
    ServerDiedError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.export import ExportSummary, Progress, export_jsonl
from nerv_inner_universe.controller.importing import ImportSummary, import_jsonl
from nerv_inner_universe.controller.importing import Progress as ImportProgress
from nerv_inner_universe.controller.layout import DbLayout, read_json, write_json_atomic
from nerv_inner_universe.controller.pidfile import (
    ControllerRecord,
    live_record,
    remove_record,
    write_record,
)
from nerv_inner_universe.controller.process import (
    ServerProcess,
    data_dir_lock,
    data_dir_locked,
    free_port,
)
from nerv_inner_universe.controller.tables import Inventory, count_rows, take_inventory
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import ToolchainError, built_module, find_server, setup

log = get_logger(__name__)

DEFAULT_TABLES = (Table.ENTITY, Table.RELATION, Table.STATE_VERSION, Table.EVENT_LOG)
"""What server mode subscribes to when not told otherwise (the upstream design's four)."""
WATCH_INTERVAL = 0.5
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0
"""At most MAX_RESTARTS automatic restarts within this many seconds: a server that keeps
dying (a database that cannot start) is reported instead of restarted forever."""

RowCallback = Callable[[EventContext, Any], object]
UpdateCallback = Callable[[EventContext, Any, Any], object]


@attrs.frozen
class TableHandlers:
    """Callbacks for one table's rows in server mode; existing rows arrive as inserts."""

    on_insert: RowCallback | None = None
    on_delete: RowCallback | None = None
    on_update: UpdateCallback | None = None


@attrs.frozen
class ServerExit:
    """Told to ``on_server_exit`` when the server exits without being asked to."""

    returncode: int | None
    last_output: str
    restarting: bool


@attrs.frozen
class Deployment:
    database: str
    database_identity: str
    op: str
    """``created`` or ``updated``."""
    module_sha256: str
    url: str
    deployed_at: float


@attrs.frozen
class ServerStatus:
    running: bool
    url: str
    database: str
    detail: str
    record: ControllerRecord | None = None
    deployment: Deployment | None = None
    row_counts: dict[str, int] | None = None


@attrs.frozen
class RestoreResult:
    manifest: BackupManifest
    moved_aside: Path | None
    """Where the previous content of ``db_path`` went (``--force``), to delete when satisfied."""


class InnerUniverseController:
    """Use as ``async with InnerUniverseController(config) as controller``; `stop` runs on exit."""

    def __init__(
        self,
        config: InnerUniverseConfig,
        *,
        server_binary: Path | None = None,
        module_wasm: Path | None = None,
        on_server_exit: Callable[[ServerExit], object] | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.layout = DbLayout(config.db_path)
        self.deployment: Deployment | None = None
        self._server_binary = server_binary
        self._module_wasm = module_wasm
        self._on_server_exit = on_server_exit
        self._stop_timeout = stop_timeout
        self._mode: str | None = None
        self._url: str | None = None
        self._process: ServerProcess | None = None
        self._http: SpacetimeHttp | None = None
        self._client: DbConnection | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self._failure: ServerDiedError | None = None
        self._paused = False
        self._restarts: deque[float] = deque()
        self._maintenance = asyncio.Lock()
        self._answers_requests = False
        self._request_tasks: set[asyncio.Task[None]] = set()
        self._log = log.bind(database=config.database, db_path=str(config.db_path))

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
    def mode(self) -> str | None:
        """``deployment``, ``server`` or ``admin`` once started; None when stopped."""
        return self._mode

    @property
    def url(self) -> str | None:
        return self._url

    @property
    def process(self) -> ServerProcess | None:
        """The server this controller started; None when it attached to one."""
        return self._process

    @property
    def client(self) -> DbConnection | None:
        return self._client

    @property
    def http(self) -> SpacetimeHttp:
        """The HTTP API as the owner (deployment) or the configured identity."""
        if self._http is None:
            raise ControllerError("the controller is not started; call a start_*_mode() first")
        return self._http

    @property
    def is_local(self) -> bool:
        return self.config.server_url is None

    # --- modes ----------------------------------------------------------------------------

    async def start_deployment_mode(self, *, wipe: bool = False) -> DbConnection:
        """Starts (or attaches to) the server, publishes the module as the owner, writes the
        configuration into the module and returns a connected client. ``wipe`` deletes the
        database and all its data first: only ever on explicit request."""
        wasm = self._module()
        async with self._starting("deployment"):
            http = self.http
            if http.token is None:
                with self._translated("creating the owner identity"):
                    credentials = await http.create_identity()
                http.token = credentials.token
                self._save_token(credentials.token)
                self._guard_database()
                self._log.info(
                    "owner_identity_created",
                    identity=credentials.identity.hex,
                    token_file=str(self._token_path()),
                )
            body = wasm.read_bytes()
            if wipe:
                self._log.warning("database_wipe", url=self._url)
            before = await self._database_record()
            with self._translated(f"publishing {wasm}"):
                published = await http.publish(self.config.database, body, clear=wipe)
            self.deployment = Deployment(
                database=self.config.database,
                database_identity=published.database_identity.hex,
                op=published.op,
                module_sha256=hashlib.sha256(body).hexdigest(),
                url=self.http.base_url,
                deployed_at=time.time(),
            )
            if self.is_local:
                write_json_atomic(self.layout.deployment_file, attrs.asdict(self.deployment))
            client = await self._connect()
            with self._translated("writing the configuration"):
                for key, value in self.config.module_config.items():
                    call = contract.update_config(
                        key=key, value=json.dumps(value), description=None
                    )
                    await call.send(client)
            await self._make_deployment_durable(before, recreated=wipe or published.op == "created")
            self._log.info(
                "deployed",
                op=published.op,
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
        async with self._starting("server", attach=attach):
            client = await self._connect()
            handlers = handlers or {}
            names = list(dict.fromkeys([*tables, *handlers]))
            with self._translated("subscribing"):
                for name in names:
                    cache = client.cache.table(name)
                    table_handlers = handlers.get(name, TableHandlers())
                    if table_handlers.on_insert is not None:
                        cache.on_insert(table_handlers.on_insert)
                    if table_handlers.on_delete is not None:
                        cache.on_delete(table_handlers.on_delete)
                    if table_handlers.on_update is not None:
                        cache.on_update(table_handlers.on_update)
                if names:
                    # names are the schema's: cache.table() refused any other
                    await client.subscribe([f"SELECT * FROM {name}" for name in names])  # noqa: S608
            self._log.info("serving", url=self._url, subscribed=names, attached=self._attached)
            return client

    async def start_admin_mode(self) -> SpacetimeHttp:
        """For one-off operator work (status, SQL, logs, export): the running server if one
        serves this config, else one started on a private port no client knows, so nothing
        else writes meanwhile."""
        async with self._starting("admin", private=True):
            with self._translated("reading the schema"):
                await self.http.schema(self.config.database, refresh=True)
            return self.http

    async def stop(self) -> None:
        """Disconnects, then stops the server this controller started (SIGTERM, SIGKILL after
        ``stop_timeout``). A backup in progress finishes first. Safe to call twice and after
        a failed start."""
        async with self._maintenance:
            await self._teardown()

    async def _teardown(self) -> None:
        if self._answers_requests:
            asyncio.get_running_loop().remove_signal_handler(REQUEST_SIGNAL)
            self._answers_requests = False
        watcher, self._watcher = self._watcher, None
        client, self._client = self._client, None
        http, self._http = self._http, None
        process, self._process = self._process, None
        try:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            if client is not None:
                with contextlib.suppress(SpacetimeError):
                    await client.disconnect()
            if http is not None:
                await http.aclose()
        finally:
            if process is not None:
                server_pid = process.pid
                process.stop(timeout=self._stop_timeout)
                remove_record(self.layout, server_pid)
            if self._mode is not None:
                self._log.info("controller_stopped", mode=self._mode)
            self._mode = None
            self._url = None
            self._finished.set()

    def request_stop(self) -> None:
        """Makes `wait` return (from a signal handler, say); call `stop` afterwards."""
        self._finished.set()

    async def wait(self) -> None:
        """Returns when `request_stop` or `stop` is called; raises ServerDiedError when the
        server died and was not restarted."""
        await self._finished.wait()
        if self._failure is not None:
            raise self._failure

    # --- queries --------------------------------------------------------------------------

    async def row_counts(self) -> dict[str, int]:
        with self._translated("counting rows"):
            return await count_rows(self.http, self.config.database)

    async def sql(self, query: str) -> list[SqlResult]:
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
        deployment = self._recorded_deployment()
        record = live_record(self.layout) if self.is_local else None
        if self.is_local and record is None:
            detail = (
                "not running, but a server not started by inner-universe holds the data dir"
                if data_dir_locked(self.layout.data_dir)
                else "not running"
            )
            return ServerStatus(
                False, self.config.url, self.config.database, detail, deployment=deployment
            )
        url = record.url if record is not None else self.config.url
        async with SpacetimeHttp(url, token=self._load_token(), timeout=self._timeout) as http:
            try:
                await http.health()
            except SpacetimeError as error:
                return ServerStatus(
                    False, url, self.config.database, f"no answer: {error}", record, deployment
                )
            try:
                counts = await count_rows(http, self.config.database)
            except NotFoundError:
                detail = "running; the database is not deployed"
                return ServerStatus(True, url, self.config.database, detail, record)
            except SpacetimeError as error:
                detail = f"running; cannot count rows: {error}"
                return ServerStatus(True, url, self.config.database, detail, record, deployment)
        return ServerStatus(True, url, self.config.database, "running", record, deployment, counts)

    def _recorded_deployment(self) -> Deployment | None:
        """What `deployment.json` says was deployed last (local data only)."""
        raw = read_json(self.layout.deployment_file) if self.is_local else None
        if not isinstance(raw, dict):
            return None
        try:
            return Deployment(**raw)
        except TypeError:
            return None

    # --- backup, restore, export ----------------------------------------------------------

    async def backup(self, destination: Path) -> BackupManifest:
        """Writes a .tar.gz of ``db_path`` with a manifest. Consistent: the server is stopped
        (a server this controller runs is started again afterwards, and its clients
        reconnect), counted on a private port no client knows, and the data dir stays locked
        against any server while it is copied."""
        self._require_local("backup")
        record = live_record(self.layout)
        if record is not None and (self._process is None or record.server_pid != self._process.pid):
            raise ServerAlreadyRunningError(
                f"process {record.pid} serves {self.layout.root}; `inner-universe backup` asks "
                "it to take the backup, or stop that server first (`inner-universe stop`)"
            )
        async with self._maintenance:
            process = self._process
            resume = process is not None and process.running()
            self._paused = True
            try:
                if process is not None and resume:
                    self._log.info("backup_pausing_server", pid=process.pid)
                    process.stop(timeout=self._stop_timeout)
                inventory = await self._inspect(self.layout.root, self.config.server_log)
                deployed = self._recorded_deployment()
                with data_dir_lock(self.layout.data_dir):
                    manifest = await asyncio.to_thread(
                        write_archive,
                        self.layout,
                        destination,
                        database=self.config.database,
                        inventory=inventory,
                        module_sha256=deployed.module_sha256 if deployed else None,
                    )
            finally:
                try:
                    if process is not None and resume:
                        process.start()
                        self._write_record()
                finally:
                    self._paused = False
        self._log.info(
            "backup_written",
            path=str(destination),
            files=len(manifest.files),
            rows=manifest.row_counts,
            log_position=manifest.log_position,
        )
        return manifest

    async def restore(self, archive: Path, *, force: bool = False) -> RestoreResult:
        """Restores a backup into ``db_path`` after checking every file against the manifest
        and the restored row counts against the counts it recorded. Refuses while a server
        runs on ``db_path``, and a non-empty ``db_path`` unless ``force`` (which moves the old
        content aside rather than deleting it). On refusal ``db_path`` is untouched."""
        self._require_local("restore")
        if self._mode is not None:
            raise RestoreError("stop the controller before restoring into its db_path")
        root = self.layout.root
        record = live_record(self.layout)
        if record is not None or data_dir_locked(self.layout.data_dir):
            holder = f"process {record.pid}" if record is not None else "a running server"
            raise RestoreError(
                f"{holder} uses {root}; stop it first (`inner-universe stop`); nothing changed"
            )
        if not self.layout.is_empty() and not force:
            raise RestoreError(
                f"{root} is not empty; restore never overwrites data unless asked: pass --force "
                "(force=True) to move the current content aside and restore; nothing changed"
            )
        staging = root.with_name(f".{root.name}.restore-{secrets.token_hex(4)}")
        try:
            manifest = await asyncio.to_thread(
                unpack_archive, archive, staging, database=self.config.database
            )
            await self._verify_restored(archive, staging, manifest)
            moved_aside = self._swap_in(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._log.info(
            "restored",
            archive=str(archive),
            rows=manifest.row_counts,
            moved_aside=str(moved_aside) if moved_aside else None,
        )
        return RestoreResult(manifest, moved_aside)

    def _swap_in(self, staging: Path) -> Path | None:
        """Puts ``staging`` at ``db_path``; what was there goes aside (returned), and comes
        back if the swap fails."""
        root = self.layout.root
        moved_aside = None
        if not self.layout.is_empty():
            moved_aside = root.with_name(
                f"{root.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
            )
            root.rename(moved_aside)
        elif root.exists():
            root.rmdir()
        try:
            staging.rename(root)
        except OSError as error:
            if moved_aside is not None:
                moved_aside.rename(root)
            raise RestoreError(
                f"cannot move the restored data into {root} ({error}); it is as it was"
            ) from error
        return moved_aside

    async def _verify_restored(
        self, archive: Path, staging: Path, manifest: BackupManifest
    ) -> None:
        """The restored data must hold what the manifest recorded, row count by row count."""
        restored = await self._inspect(staging, staging / "server.log")
        expected = Inventory(manifest.database_identity, manifest.row_counts, manifest.log_position)
        if restored != expected:
            raise RestoreError(
                f"{archive}: the restored database does not match its manifest (manifest "
                f"{attrs.asdict(expected)}, restored {attrs.asdict(restored)}); nothing changed"
            )

    async def import_export(
        self, source: Path, *, progress: ImportProgress | None = None
    ) -> ImportSummary:
        """Loads an export into this (fresh) database, every row exactly as exported; returns
        once a stop of the server this controller runs would keep them."""
        with self._translated("importing"):
            summary = await import_jsonl(self.http, self.config.database, source, progress=progress)
        self._guard_database(writes=True)
        if self._process is not None:
            await asyncio.to_thread(self._process.make_durable)
        return summary

    async def export(self, destination: Path, *, progress: Progress | None = None) -> ExportSummary:
        """Every table as JSON Lines, consistent as of one log position (see `export`)."""
        with self._translated("exporting"):
            return await export_jsonl(
                self.http, self.config.database, destination, progress=progress
            )

    def accept_backup_requests(self) -> None:
        """Lets `inner-universe backup` in another process ask this one for a backup (it
        sends SIGUSR1). Call from the main thread, with the server started."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(REQUEST_SIGNAL, self._on_backup_request)
        self._answers_requests = True
        self._write_record()

    def _on_backup_request(self) -> None:
        task = asyncio.create_task(self._answer_backup_requests())
        self._request_tasks.add(task)
        task.add_done_callback(self._request_tasks.discard)

    async def _answer_backup_requests(self) -> None:
        for request in pending_requests(self.layout):
            try:
                manifest = await self.backup(request.destination)
            except ControllerError as error:
                answer(self.layout, request.request_id, {"ok": False, "error": str(error)})
            else:
                answer(
                    self.layout, request.request_id, {"ok": True, "manifest": manifest.to_json()}
                )

    # --- internals: starting --------------------------------------------------------------

    @property
    def _attached(self) -> bool:
        return self._url is not None and self._process is None

    @property
    def _timeout(self) -> float:
        return self.config.timeout

    @contextlib.asynccontextmanager
    async def _starting(
        self, mode: str, *, private: bool = False, attach: bool = True
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
            self._process = self._spawn(private=private)
            self._url = self._process.base_url
            self._write_record()
            if not private:
                self._watcher = asyncio.create_task(self._watch(), name="inner-universe-watch")
        self._http = SpacetimeHttp(self._url, token=self._load_token(), timeout=self._timeout)
        self._guard_database()
        if self._attached:
            try:
                await self._http.health()
            except SpacetimeError as error:
                raise ServerUnreachableError(
                    f"no SpacetimeDB server answers at {self._url} ({error}); check that it "
                    "runs and that server_url is right"
                ) from error
            self._log.info("attached", url=self._url)

    def _spawn(self, *, private: bool) -> ServerProcess:
        """Runs in the event loop's thread on purpose: the server's parent-death signal
        follows the thread that started it, so a worker thread's exit would stop it."""
        process = ServerProcess(
            self._binary(),
            self.layout.root,
            host="127.0.0.1" if private else self.config.address,
            port=free_port() if private else self.config.port,
            log_file=self.config.server_log,
        )
        try:
            process.start()
        except PortInUseError as error:
            raise PortInUseError(
                f"{error}; to use a server already running there, set server_url = "
                f'"http://{process.host}:{process.port}"'
            ) from None
        return process

    def _guard_database(self, *, writes: bool = False) -> None:
        """A server this controller runs for writing (deployment and server mode, an import)
        stops only once the database's acknowledged writes are on disk (`ServerProcess.stop`);
        the owner token is an admin's, as the module's ``checkpoint`` reducer needs. Admin
        mode only reads, and its stop must change nothing: the checkpoint's own call would
        log a connection."""
        token = self._http.token if self._http is not None else None
        if (writes or self._mode != "admin") and self._process is not None and token is not None:
            self._process.register_database(self.config.database, token)

    async def _database_record(self) -> tuple[DatabaseRecord, frozenset[bytes]] | None:
        """The database's record in the control database of the server this controller runs,
        and the internal ids it had so far (none before the first publish)."""
        if self._process is None:
            return None
        try:
            info = await self.http.database_info(self.config.database)
        except NotFoundError:
            return None
        record = DatabaseRecord(info.database_identity.hex, info.owner_identity.hex)
        return record, await asyncio.to_thread(record.ids, self._process.layout.data_dir)

    async def _make_deployment_durable(
        self, before: tuple[DatabaseRecord, frozenset[bytes]] | None, *, recreated: bool
    ) -> None:
        """Returns once a stop of the server this controller runs keeps the deployment: the
        control database's record of a database created (or recreated by a wipe) and the
        module and configuration in its commit log (see `durability`). ``before`` is what
        `_database_record` said before publishing. A server elsewhere is its operator's."""
        process = self._process
        if process is None:
            return
        with self._translated("making the deployment durable"):
            if recreated:
                after = await self._database_record()
                if after is None:
                    raise DurabilityError(
                        f"database {self.config.database!r} vanished right after it was published"
                    )
                record, _ = after
                known = before[1] if before is not None and before[0] == record else frozenset()
                await asyncio.to_thread(
                    record.wait_for_new,
                    process.layout.data_dir,
                    known=known,
                    timeout=DURABILITY_TIMEOUT,
                )
            await asyncio.to_thread(process.make_durable)

    def _write_record(self) -> None:
        if self._process is None or self._mode is None:
            return
        write_record(
            self.layout,
            ControllerRecord.for_this_process(
                server_pid=self._process.pid,
                url=self._process.base_url,
                database=self.config.database,
                mode=self._mode,
                answers_requests=self._answers_requests,
            ),
        )

    def _binary(self) -> Path:
        binary = self._server_binary or find_server()
        if binary is None:
            raise ServerBinaryMissingError(
                "spacetimedb-standalone 1.2.0 was not found ($SPACETIMEDB_STANDALONE, PATH or "
                "the build cache); run `inner-universe setup` to build it"
            )
        return binary

    def _module(self) -> Path:
        """The built module; runs setup when it is missing (a build of a minute or so)."""
        wasm = self._module_wasm or built_module()
        if wasm is not None:
            return wasm
        self._log.info("module_missing_running_setup")
        try:
            return setup().module_wasm
        except ToolchainError as error:
            raise ControllerError(
                f"the module is not built and `inner-universe setup` failed: {error}"
            ) from error

    def _load_token(self) -> str | None:
        """The owner token lives with the data; for a remote server, in the user's store."""
        with self._translated("reading the token"):
            if self.is_local:
                return self.layout.load_owner_token()
            return TokenStore().load(self.config.url, self.config.database)

    def _save_token(self, token: str) -> None:
        with self._translated("saving the token"):
            if self.is_local:
                self.layout.save_owner_token(token)
            else:
                TokenStore().save(self.config.url, self.config.database, token)

    def _token_path(self) -> Path:
        if self.is_local:
            return self.layout.owner_token_file
        return TokenStore().path(self.config.url, self.config.database)

    async def _connect(self) -> DbConnection:
        http = self.http
        if http.token is None and self.is_local:
            raise NotDeployedError(
                f"no owner token at {self._token_path()}: deploy first (`inner-universe "
                "deploy`), or restore a backup, which carries it"
            )
        client = DbConnection(
            http.base_url,
            self.config.database,
            token=http.token,
            token_store=None if self.is_local else TokenStore(),
            call_timeout=self._timeout,
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

    async def _inspect(self, root: Path, log_file: Path) -> Inventory:
        """The inventory of the data under ``root``, read from a server started on a private
        port (no client knows it, so nothing writes and its stop needs no checkpoint),
        stopped again afterwards."""
        process = ServerProcess(
            self._binary(), root, host="127.0.0.1", port=free_port(), log_file=log_file
        )
        process.start()
        try:
            token = DbLayout(root).load_owner_token()
            async with SpacetimeHttp(process.base_url, token=token, timeout=self._timeout) as http:
                with self._translated(f"reading {root}"):
                    return await take_inventory(http, self.config.database)
        finally:
            process.stop(timeout=self._stop_timeout)

    # --- internals: the watcher -----------------------------------------------------------

    async def _watch(self) -> None:
        """Notices the server exiting on its own; restarts it when configured to."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            process = self._process
            if process is None or self._paused or process.running():
                continue
            output, pid = process.last_output(), process.pid
            returncode = process.stop()
            restarting = self.config.restart_on_exit and self._may_restart()
            self._log.error(
                "server_exited", returncode=returncode, restarting=restarting, output=output
            )
            self._notify(ServerExit(returncode, output, restarting))
            if restarting:
                try:
                    process.start()
                except ControllerError as error:
                    self._log.error("server_restart_failed", error=str(error))
                else:
                    self._write_record()
                    self._log.info("server_restarted", pid=process.pid)
                    continue
            remove_record(self.layout, pid)
            self._failure = ServerDiedError(
                f"the server exited with code {returncode} (see {self.config.server_log}); "
                f"its last output:\n{output}"
            )
            self._finished.set()
            return

    def _may_restart(self) -> bool:
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > RESTART_WINDOW:
            self._restarts.popleft()
        if len(self._restarts) >= MAX_RESTARTS:
            return False
        self._restarts.append(now)
        return True

    def _notify(self, event: ServerExit) -> None:
        if self._on_server_exit is None:
            return
        try:
            self._on_server_exit(event)
        except Exception:
            self._log.exception("on_server_exit_failed")

    # --- internals: errors ----------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turns the client's errors into the controller's, saying what to do."""
        database, url = self.config.database, self._url or self.config.url
        try:
            yield
        except NotFoundError as error:
            raise NotDeployedError(
                f"{action}: database {database!r} does not exist at {url}; deploy it first "
                "(`inner-universe deploy`)"
            ) from error
        except HttpError as error:
            raise self._http_error(action, error) from error
        except SpacetimeConnectionError as error:
            raise ServerUnreachableError(f"{action}: no answer from {url}: {error}") from error
        except SpacetimeError as error:
            raise ControllerError(f"{action}: {error}") from error

    def _http_error(self, action: str, error: HttpError) -> ControllerError:
        database, url, body = self.config.database, self._url, error.body.strip()
        if error.status == 401:
            keys = f"; it only validates with the keys it came from ({self.layout.keys_dir})"
            return AuthenticationError(
                f"{action}: the server at {url} refused the token in {self._token_path()} "
                f"(HTTP 401: {body}){keys if self.is_local else ''}. Use the right token, or "
                "restore data, keys and token together from one backup"
            )
        if "does not own database" in body or "Permission denied" in body:
            return AuthenticationError(
                f"{action}: database {database!r} at {url} belongs to another identity than "
                f"the token in {self._token_path()} ({body}); use the owner's token or "
                "another database name"
            )
        if error.status == 400 and "Database update rejected" in body:
            return ModuleUpdateRejectedError(
                f"the server refused to update database {database!r} to the new module: "
                f"{body}. The database and its data are unchanged. Deploying with the wipe "
                "option (`inner-universe deploy --wipe`) replaces it and DELETES ALL ITS "
                "DATA; take a backup first (`inner-universe backup FILE`)"
            )
        return ControllerError(f"{action}: {error}")
