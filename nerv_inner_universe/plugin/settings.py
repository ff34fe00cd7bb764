"""`[nerv.inner_universe]`: where the database is and how writes behave."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from nerv_inner_universe.client import TokenStoreError, read_token_file
from nerv_inner_universe.nerv.errors import ConfigError

SECTION = "inner_universe"
_DATABASE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

EventDurability = Literal["sync", "async"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigError(f"[nerv.{SECTION}] {attribute.name} must be positive, not {value!r}")


def _database(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not _DATABASE_NAME.match(value):
        raise ConfigError(
            f"[nerv.{SECTION}] database {value!r} must match {_DATABASE_NAME.pattern} "
            "(lowercase letters and digits, single dashes)"
        )


def _durability(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in ("sync", "async"):
        raise ConfigError(f"[nerv.{SECTION}] events must be 'sync' or 'async', not {value!r}")


@attrs.frozen
class PluginSettings:
    """``events``: ``"sync"`` waits until each published event is stored (a publish fails if
    it cannot be); ``"async"`` queues it (bounded by ``queue_size``: a full queue makes
    publishers wait) and reports failures on ``flush`` and in ``health``.
    ``token_file`` (or ``$INNER_UNIVERSE_TOKEN``) holds the identity's token."""

    url: str = "http://127.0.0.1:3000"
    database: str = attrs.field(default="inner-universe", validator=_database)
    token: str | None = attrs.field(default=None, repr=False)  # a secret: never in repr()
    token_file: Path | None = None
    events: EventDurability = attrs.field(default="async", validator=_durability)
    queue_size: int = attrs.field(default=10_000, validator=_positive)
    batch_size: int = attrs.field(default=500, validator=_positive)
    call_timeout: float = attrs.field(default=30.0, validator=_positive)
    retry_for: float = attrs.field(default=300.0, validator=_positive)
    follow_remote: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PluginSettings:
        """Reads ``config["nerv"]["inner_universe"]``; unknown keys are an error."""
        section = config.get("nerv", {}).get(SECTION, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"[nerv.{SECTION}] must be a table")
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(
                f"[nerv.{SECTION}] has unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = dict(section)
        if "token_file" in values:
            values["token_file"] = Path(values["token_file"]).expanduser()
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"[nerv.{SECTION}]: {exc}") from exc

    def resolve_token(self) -> str | None:
        """The token to connect with: ``token``, ``$INNER_UNIVERSE_TOKEN``, ``token_file``."""
        if self.token:
            return self.token
        from_env = os.environ.get("INNER_UNIVERSE_TOKEN")
        if from_env:
            return from_env
        if self.token_file is not None:
            try:
                token = read_token_file(self.token_file)
            except TokenStoreError as exc:
                raise ConfigError(f"[nerv.{SECTION}] token_file: {exc}") from exc
            if token is None:
                raise ConfigError(f"[nerv.{SECTION}] token_file {self.token_file} does not exist")
            return token
        return None
