"""`InnerUniverseConfig`: where the server runs, what it serves and how it is configured.

Read from the top-level TOML table ``[inner_universe]`` (another table with ``section``, dotted
for nested ones), then overridden by ``INNER_UNIVERSE_<KEY>`` environment variables
(``INNER_UNIVERSE_PORT=3100``). An Atlas TOML holds it beside ``[nerv.inner_universe]``, which
belongs to the plugin (how NERV connects); this table says how the server runs.

Every invalid value is refused with a `ConfigError` that names where it came from, and so is
an unknown key in the table or a variable that looks like a misspelt setting. Paths in a TOML
file are relative to that file; other relative paths to the working directory. Durations are
in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import attrs

from nerv_inner_universe.client.names import DATABASE_NAME_RULE, is_database_name
from nerv_inner_universe.config import fields, load, read_toml, table_in
from nerv_inner_universe.contract import (
    DEFAULT_SNAPSHOT_INTERVAL,
    MAX_CONNECTIONS_LIMIT,
    MAX_SNAPSHOT_INTERVAL,
    MAX_TIMEOUT_SECONDS,
)

DEFAULT_SECTION = "inner_universe"
ENV_PREFIX = "INNER_UNIVERSE_"
CONFIG_ENV = "INNER_UNIVERSE_CONFIG"
"""Names the TOML file when ``--config`` is not given (not a setting itself)."""
SECTION_ENV = "INNER_UNIVERSE_CONFIG_SECTION"
"""Names the TOML table when ``--section`` is not given (not a setting itself)."""

_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@attrs.frozen(kw_only=True)
class InnerUniverseConfig:
    """Defaults follow the upstream notes: 127.0.0.1:3000, ``./inner_universe_db``.

    ``max_connections``, ``timeout`` (seconds, also the controller's HTTP and call timeout),
    ``auth_required`` and ``snapshot_interval`` are written into the module's ``config``
    table on deployment. Constructing it directly checks every value too (`ConfigError`).
    """

    address: str = fields.text(
        "127.0.0.1",
        expected="a host name or IPv4 address",
        holds=lambda v: bool(_HOST.fullmatch(v)),
    )
    port: int = fields.integer(3000, low=1, high=65535)
    db_path: Path = fields.path(Path("inner_universe_db"))
    """Holds the server's data dir, its keys, the owner token and the server log."""
    database: str = fields.text(
        "inner-universe", expected=DATABASE_NAME_RULE, holds=is_database_name
    )
    max_connections: int = fields.integer(100, high=MAX_CONNECTIONS_LIMIT)
    timeout: float = fields.seconds(30.0, high=MAX_TIMEOUT_SECONDS)
    """Seconds an HTTP request or reducer call may take before it fails."""
    auth_required: bool = fields.boolean(True)
    snapshot_interval: int = fields.integer(DEFAULT_SNAPSHOT_INTERVAL, high=MAX_SNAPSHOT_INTERVAL)
    server_url: str | None = fields.text(
        None, expected=fields.BASE_URL, holds=fields.is_base_url, optional=True
    )
    """Attach to this already running server instead of starting one on ``db_path``."""
    restart_on_exit: bool = fields.boolean(False)
    """Start the server again when it exits on its own (a crash), a few times at most."""
    log_file: Path | None = fields.path(None, optional=True)
    """Where the server's output goes; ``<db_path>/server.log`` when unset."""

    @property
    def url(self) -> str:
        """The HTTP base URL clients use."""
        return (self.server_url or f"http://{self.address}:{self.port}").rstrip("/")

    @property
    def server_log(self) -> Path:
        return self.log_file or self.db_path / "server.log"

    @property
    def module_config(self) -> dict[str, object]:
        """The values deployment writes into the module's ``config`` table."""
        return {
            "snapshot_interval": self.snapshot_interval,
            "max_connections": self.max_connections,
            "timeout": self.timeout,
            "auth_required": self.auth_required,
        }


def load_config(
    path: Path | None = None,
    *,
    section: str = DEFAULT_SECTION,
    env: Mapping[str, str] | None = None,
) -> InnerUniverseConfig:
    """Defaults, then the TOML table ``section`` of ``path`` (dotted for nested tables), then
    ``INNER_UNIVERSE_*`` variables from ``env`` (``os.environ`` when None). Raises
    `ConfigError`."""
    table = table_in(read_toml(path), section, source=path, required=True) if path else {}
    return load(
        InnerUniverseConfig, table, section=section, env_prefix=ENV_PREFIX, env=env, source=path
    )
