"""The persistence module's own environment keys, read from an `eventsourcing` application's
environment (so ``<APPNAME>_SPACETIMEDB_URL`` overrides ``SPACETIMEDB_URL`` for one app)."""

from __future__ import annotations

import re
from typing import Literal

import attrs
from eventsourcing.utils import Environment

from nerv_inner_universe.client.names import DATABASE_NAME_RULE, is_database_name
from nerv_inner_universe.config import ConfigError, fields
from nerv_inner_universe.config.loader import load
from nerv_inner_universe.shown import quote

ENV_PREFIX = "SPACETIMEDB_"
ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
"""The `eventsourcing` key the SQLite and PostgreSQL modules read too: ``uuid`` or ``text``."""

_STORE_PREFIX = re.compile(r"[A-Za-z0-9._:/-]{0,64}")

OriginatorIdType = Literal["uuid", "text"]


def _is_store_prefix(value: str) -> bool:
    return bool(_STORE_PREFIX.fullmatch(value))


@attrs.frozen(kw_only=True)
class EsSettings:
    """Where the stores are and how to reach them.

    ``url``: the server (``SPACETIMEDB_URL``, ``http(s)://host:port``). ``database``: its
    database (``SPACETIMEDB_DATABASE``). ``token``: the identity's token
    (``SPACETIMEDB_TOKEN``, never shown; unset: a new anonymous identity). ``call_timeout``:
    seconds a call may take (``SPACETIMEDB_CALL_TIMEOUT``). ``store_prefix``: put before every
    store name (``SPACETIMEDB_STORE_PREFIX``, up to 64 of ``[A-Za-z0-9._:/-]``), to keep
    applications of the same name apart in one database. ``originator_id_type``: ``uuid``
    (default) returns originator ids as `uuid.UUID`, ``text`` as `str`
    (``ORIGINATOR_ID_TYPE``).
    """

    url: str = fields.text(
        "http://127.0.0.1:3000", expected=fields.BASE_URL, holds=fields.is_base_url
    )
    database: str = fields.text(
        "inner-universe", expected=DATABASE_NAME_RULE, holds=is_database_name
    )
    token: str | None = fields.text(None, optional=True, secret=True)
    call_timeout: float = fields.seconds(30.0)
    store_prefix: str = fields.text(
        "",
        expected="up to 64 letters, digits, '.', '_', ':', '/' or '-'",
        holds=_is_store_prefix,
    )
    originator_id_type: OriginatorIdType = fields.choice("uuid", ("uuid", "text"))

    @classmethod
    def from_environment(cls, env: Environment) -> EsSettings:
        """The settings ``env`` holds; raises `ConfigError` naming a wrong variable."""
        values = {
            name: value
            for a in attrs.fields(cls)
            if a.name != "originator_id_type"
            and (value := env.get(name := f"{ENV_PREFIX}{a.name.upper()}")) is not None
        }
        settings = load(cls, {}, section="eventsourcing", env_prefix=ENV_PREFIX, env=values)
        id_type = env.get(ORIGINATOR_ID_TYPE, "uuid")
        if id_type == "uuid":
            return settings
        if id_type == "text":
            return attrs.evolve(settings, originator_id_type="text")
        raise ConfigError(ORIGINATOR_ID_TYPE, f"is {quote(id_type)}; expected 'uuid' or 'text'")
