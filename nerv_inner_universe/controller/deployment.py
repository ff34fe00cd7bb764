"""Deployment: the module to publish, publishing it, writing the configuration into it, and
making all of that survive a stop of the server the controller runs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, NotFoundError, SpacetimeHttp
from nerv_inner_universe.controller.durability import DURABILITY_TIMEOUT, DatabaseRecord
from nerv_inner_universe.controller.errors import ControllerError, DurabilityError
from nerv_inner_universe.controller.layout import DbLayout, read_attrs
from nerv_inner_universe.controller.process import ServerProcess
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import ToolchainError, built_module, setup

log = get_logger(__name__)

KnownDatabase = tuple[DatabaseRecord, frozenset[bytes]]
"""A database's record in the control database and the internal ids it had so far."""


@attrs.frozen
class Deployment:
    """What a deployment published (kept in ``<db_path>/deployment.json`` for local data)."""

    database: str
    database_identity: str
    """Hex."""
    op: str
    """``created`` or ``updated``."""
    module_sha256: str
    url: str
    deployed_at: float
    """Epoch seconds."""


def recorded_deployment(layout: DbLayout) -> Deployment | None:
    """What ``deployment.json`` under ``layout`` says was deployed last; None when there is
    none or it is unreadable."""
    return read_attrs(layout.deployment_file, Deployment)


async def module_wasm(explicit: Path | None) -> Path:
    """``explicit``, else the built module; runs setup (a cargo build of a minute or more)
    in a worker thread when it is missing. Raises ControllerError when setup fails."""
    wasm = explicit or built_module()
    if wasm is not None:
        return wasm
    log.info("module_missing_running_setup")
    try:
        result = await asyncio.to_thread(setup)
    except ToolchainError as error:
        raise ControllerError(
            f"the module is not built and `inner-universe setup` failed: {error}"
        ) from error
    return result.module_wasm


async def publish(http: SpacetimeHttp, database: str, wasm: Path, *, wipe: bool) -> Deployment:
    """Publishes ``wasm`` as ``database`` (``wipe`` deletes the database and its data
    first); raises the client's errors."""
    body = await asyncio.to_thread(wasm.read_bytes)
    if wipe:
        log.warning("database_wipe", database=database, url=http.base_url)
    published = await http.publish(database, body, clear=wipe)
    return Deployment(
        database=database,
        database_identity=published.database_identity.hex,
        op=published.op,
        module_sha256=hashlib.sha256(body).hexdigest(),
        url=http.base_url,
        deployed_at=time.time(),
    )


async def write_configuration(client: DbConnection, settings: dict[str, object]) -> None:
    """Writes each setting into the module's config table (values as JSON text)."""
    for key, value in settings.items():
        call = contract.update_config(key=key, value=json.dumps(value), description=None)
        await call.send(client)


async def known_database(
    http: SpacetimeHttp, database: str, process: ServerProcess
) -> KnownDatabase | None:
    """``database``'s record in the control database of ``process`` and the internal ids it
    had so far; None before the first publish."""
    try:
        info = await http.database_info(database)
    except NotFoundError:
        return None
    record = DatabaseRecord(info.database_identity.hex, info.owner_identity.hex)
    return record, await asyncio.to_thread(record.ids, process.layout.data_dir)


async def make_durable(
    http: SpacetimeHttp,
    database: str,
    process: ServerProcess,
    before: KnownDatabase | None,
    *,
    recreated: bool,
) -> None:
    """Returns once a stop of ``process`` keeps the deployment: the control database's
    record of a database created (or recreated by a wipe) and the module and configuration
    in its commit log (see `durability`). ``before`` is what `known_database` said before
    publishing. Raises DurabilityError."""
    if recreated:
        after = await known_database(http, database, process)
        if after is None:
            raise DurabilityError(f"database {database!r} vanished right after it was published")
        record, _ = after
        known = before[1] if before is not None and before[0] == record else frozenset()
        await asyncio.to_thread(
            record.wait_for_new, process.layout.data_dir, known=known, timeout=DURABILITY_TIMEOUT
        )
    await asyncio.to_thread(process.make_durable)
