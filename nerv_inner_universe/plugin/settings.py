"""`[nerv.inner_universe]`: where the database is and how writes behave."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from nerv_inner_universe.client import TokenStoreError, read_token_file
from nerv_inner_universe.client.names import DATABASE_NAME_RULE, is_database_name
from nerv_inner_universe.client.token_store import is_token
from nerv_inner_universe.config import ConfigError, fields, load, table_in

SECTION = "nerv.inner_universe"
ENV_PREFIX = "NERV_INNER_UNIVERSE_"
"""``NERV_INNER_UNIVERSE_<KEY>`` overrides ``[nerv.inner_universe] <key>``."""
TOKEN_RULE = "a token: printable ASCII without spaces (a token file's path goes in token_file)"  # noqa: S105 - describes a token, holds none

EventDurability = Literal["sync", "async", "outbox"]
WireProtocol = Literal["json", "bsatn"]


@attrs.frozen(kw_only=True)
class PluginSettings:
    """How the plugin reaches its database and writes to it.

    ``url``: the server (``http(s)://host:port``). ``database``: its name. ``token`` (never
    shown in repr), else ``$INNER_UNIVERSE_TOKEN``, else ``token_file``: the identity's token.
    ``events``: ``"sync"`` waits until each published event is stored (a publish fails if it
    cannot be); ``"async"`` queues it (bounded by ``queue_size``: a full queue makes publishers
    wait) and reports failures on ``flush`` and in ``health``; ``"outbox"`` returns once the
    event is committed (fsynced) to the local SQLite file ``outbox_path`` (default
    ``.inner-universe-outbox.sqlite`` in the working directory), then writes it like
    ``"async"``; what is still there when a recorder starts is sent first (the README's
    durability table says what each mode promises). ``direct_writes``: with ``"sync"``, send a
    publish on the publishing thread over a second connection while the writer is idle (a
    second ``client_connection`` row, counted against the module's ``max_connections`` for as
    long as it is open: about two minutes after its last use); false keeps one connection, and
    every publish goes through the writer's loop. ``batch_size``: queued events
    per ``publish_events`` call (at most 1,000, the module's limit). ``call_timeout``: seconds
    a reducer call may take; ``retry_for``: seconds connection trouble is retried before a
    write fails. ``durability_window``: seconds an acknowledged write is kept (and sent again
    after a connection drop) before it counts as durable; the server fsyncs its commit log every
    0.5 s, so keep this well above that. ``durability_retain``: acknowledged writes kept at most,
    and ``durability_retain_bytes``: what keeping them may cost at most, about, in bytes (an
    event's texts plus some 30 bytes, 1 KiB for another write); more make new writes wait until
    the oldest age out. ``follow_remote``: re-publish events
    other processes write. ``max_message_bytes``: the largest message the connection accepts
    (64 KiB up; default 256 MiB): replay splits its reads to fit, and only a single stored row
    over it stops a start (`OversizedRowError`). ``protocol``: the connection's wire format,
    ``"bsatn"`` (``v1.bsatn.spacetimedb``, binary, the default: less CPU per event and per row
    on the client and the server) or ``"json"`` (``v1.json.spacetimedb``, readable frames);
    both store and read the same values. Constructing it directly checks every value too
    (`ConfigError`).
    """

    url: str = fields.text(
        "http://127.0.0.1:3000", expected=fields.BASE_URL, holds=fields.is_base_url
    )
    database: str = fields.text(
        "inner-universe", expected=DATABASE_NAME_RULE, holds=is_database_name
    )
    token: str | None = fields.text(
        None, expected=TOKEN_RULE, holds=is_token, optional=True, secret=True
    )
    token_file: Path | None = fields.path(None, optional=True)
    events: EventDurability = fields.choice("async", ("sync", "async", "outbox"))
    direct_writes: bool = fields.boolean(True)
    queue_size: int = fields.integer(10_000)
    batch_size: int = fields.integer(500, high=1000)
    call_timeout: float = fields.seconds(30.0)
    retry_for: float = fields.seconds(300.0)
    durability_window: float = fields.seconds(5.0)
    durability_retain: int = fields.integer(250_000)
    durability_retain_bytes: int = fields.integer(32 << 20, low=1 << 20)
    outbox_path: Path = fields.path(Path(".inner-universe-outbox.sqlite"))
    follow_remote: bool = fields.boolean(True)
    max_message_bytes: int = fields.integer(256 << 20, low=64 << 10)
    protocol: WireProtocol = fields.choice("bsatn", ("bsatn", "json"))

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> PluginSettings:
        """``config["nerv"]["inner_universe"]`` (absent: defaults), then
        ``NERV_INNER_UNIVERSE_<KEY>`` variables of ``env`` (``os.environ`` when None); raises
        `ConfigError` naming a wrong key or value."""
        return load(cls, table_in(config, SECTION), section=SECTION, env_prefix=ENV_PREFIX, env=env)

    def resolve_token(self) -> str | None:
        """The token to connect with: ``token``, ``$INNER_UNIVERSE_TOKEN``, ``token_file``."""
        if self.token:
            return self.token
        from_env = os.environ.get("INNER_UNIVERSE_TOKEN")
        if from_env:
            if not is_token(from_env):
                raise ConfigError(
                    "INNER_UNIVERSE_TOKEN", f"must be {TOKEN_RULE}; it is hidden here"
                )
            return from_env
        if self.token_file is not None:
            where = f"{SECTION}.token_file"
            try:
                token = read_token_file(self.token_file)
            except TokenStoreError as exc:
                raise ConfigError(where, str(exc)) from exc
            if token is None:
                raise ConfigError(where, f"{self.token_file} does not exist")
            return token
        return None
