"""`ServerStatus`: whether a server runs for a config and what it holds, starting nothing."""

from __future__ import annotations

import attrs

from nerv_inner_universe.client import NotFoundError, SpacetimeError, SpacetimeHttp
from nerv_inner_universe.controller.config import InnerUniverseConfig
from nerv_inner_universe.controller.deployment import Deployment, recorded_deployment
from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.pidfile import ControllerRecord, live_record
from nerv_inner_universe.controller.process import data_dir_locked
from nerv_inner_universe.controller.tables import count_rows


@attrs.frozen
class ServerStatus:
    """What `InnerUniverseController.status` found; ``detail`` says it in words."""

    running: bool
    url: str
    database: str
    detail: str
    record: ControllerRecord | None = None
    """The controller serving ``db_path`` (local data only)."""
    deployment: Deployment | None = None
    row_counts: dict[str, int] | None = None
    """Rows per table, when the database answered."""


async def probe(config: InnerUniverseConfig, token: str | None) -> ServerStatus:
    """Asks the server serving ``config`` (its record's URL, or ``server_url``) for its health
    and row counts with ``token``; raises nothing for a server that does not answer."""
    layout = DbLayout(config.db_path)
    local = config.server_url is None
    deployment = recorded_deployment(layout) if local else None
    record = live_record(layout) if local else None
    database = config.database
    if local and record is None:
        detail = (
            "not running, but a server not started by inner-universe holds the data dir"
            if data_dir_locked(layout.data_dir)
            else "not running"
        )
        return ServerStatus(False, config.url, database, detail, deployment=deployment)
    url = record.url if record is not None else config.url
    async with SpacetimeHttp(url, token=token, timeout=config.timeout) as http:
        try:
            await http.health()
        except SpacetimeError as error:
            return ServerStatus(False, url, database, f"no answer: {error}", record, deployment)
        try:
            counts = await count_rows(http, database)
        except NotFoundError:
            detail = "running; the database is not deployed"
            return ServerStatus(True, url, database, detail, record)
        except SpacetimeError as error:
            detail = f"running; cannot count rows: {error}"
            return ServerStatus(True, url, database, detail, record, deployment)
    return ServerStatus(True, url, database, "running", record, deployment, counts)
