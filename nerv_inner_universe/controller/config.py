"""`InnerUniverseConfig`: where the server runs, what it serves and how it is configured.

Read from the top-level TOML table ``[inner_universe]`` (another table with ``section``, dotted
for nested ones), then overridden by ``INNER_UNIVERSE_<KEY>`` environment variables
(``INNER_UNIVERSE_PORT=3100``). An Atlas TOML holds it beside ``[nerv.inner_universe]``, which
belongs to the plugin (how NERV connects); this table says how the server runs.

Every invalid value is refused with a `ConfigError` that names where it came from, and so is
an unknown key in the table or a variable that looks like a misspelt setting. Paths in a TOML
file are relative to that file; other relative paths to the working directory.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from nerv_inner_universe.client.numbers import ascii_int
from nerv_inner_universe.contract import DEFAULT_SNAPSHOT_INTERVAL
from nerv_inner_universe.controller.errors import ConfigError
from nerv_inner_universe.shown import shown

DEFAULT_SECTION = "inner_universe"
ENV_PREFIX = "INNER_UNIVERSE_"
CONFIG_ENV = "INNER_UNIVERSE_CONFIG"
"""Names the TOML file when ``--config`` is not given (not a setting itself)."""
SECTION_ENV = "INNER_UNIVERSE_CONFIG_SECTION"
"""Names the TOML table when ``--section`` is not given (not a setting itself)."""

_DATABASE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _absolute(value: str | os.PathLike[str]) -> Path:
    return Path(value).absolute()


def _optional_absolute(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else _absolute(value)


def _rule(holds: Callable[[Any], bool], expected: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator raising ConfigError(key, "must be <expected>, got <value>")."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not holds(value):
            raise ConfigError(attribute.name, f"must be {expected}, got {value!r}")

    return check


def _int_between(low: int, high: int) -> Callable[[Any, Any, Any], None]:
    return _rule(
        lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
        f"an integer from {low} to {high}",
    )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_server_url(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


_MAX = 2**31 - 1


@attrs.frozen(kw_only=True)
class InnerUniverseConfig:
    """Defaults follow the upstream notes: 127.0.0.1:3000, ``./inner_universe_db``."""

    address: str = attrs.field(
        default="127.0.0.1",
        validator=_rule(
            lambda v: isinstance(v, str) and bool(_HOST.match(v)), "a host name or IPv4 address"
        ),
        metadata={"kind": "str"},
    )
    port: int = attrs.field(
        default=3000, validator=_int_between(1, 65535), metadata={"kind": "int"}
    )
    db_path: Path = attrs.field(
        default=Path("inner_universe_db"), converter=_absolute, metadata={"kind": "path"}
    )
    """Holds the server's data dir, its keys, the owner token and the server log."""
    database: str = attrs.field(
        default="inner-universe",
        validator=_rule(
            lambda v: isinstance(v, str) and bool(_DATABASE_NAME.match(v)),
            "lowercase letters and digits in groups joined by single '-' (like inner-universe)",
        ),
        metadata={"kind": "str"},
    )
    max_connections: int = attrs.field(
        default=100, validator=_int_between(1, _MAX), metadata={"kind": "int"}
    )
    timeout_ms: int = attrs.field(
        default=30000, validator=_int_between(1, _MAX), metadata={"kind": "int"}
    )
    auth_required: bool = attrs.field(
        default=True, validator=_rule(_is_bool, "true or false"), metadata={"kind": "bool"}
    )
    snapshot_interval: int = attrs.field(
        default=DEFAULT_SNAPSHOT_INTERVAL, validator=_int_between(1, _MAX), metadata={"kind": "int"}
    )
    server_url: str | None = attrs.field(
        default=None,
        validator=_rule(_is_server_url, "an http:// or https:// URL of a server, without a path"),
        metadata={"kind": "optional_str"},
    )
    """Attach to this already running server instead of starting one on ``db_path``."""
    restart_on_exit: bool = attrs.field(
        default=False, validator=_rule(_is_bool, "true or false"), metadata={"kind": "bool"}
    )
    """Start the server again when it exits on its own (a crash), a few times at most."""
    log_file: Path | None = attrs.field(
        default=None, converter=_optional_absolute, metadata={"kind": "optional_path"}
    )
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
            "timeout_ms": self.timeout_ms,
            "auth_required": self.auth_required,
        }


KEYS: dict[str, str] = {
    field.name: field.metadata["kind"] for field in attrs.fields(InnerUniverseConfig)
}
"""Setting name -> kind (``int``, ``bool``, ``str``, ``path``, ``optional_str``...)."""


def env_name(key: str) -> str:
    return f"{ENV_PREFIX}{key.upper()}"


def load_config(
    path: Path | None = None,
    *,
    section: str = DEFAULT_SECTION,
    env: Mapping[str, str] | None = None,
) -> InnerUniverseConfig:
    """Defaults, then the TOML table ``section`` of ``path`` (dotted for nested tables), then
    ``INNER_UNIVERSE_*`` variables from ``env`` (``os.environ`` when None)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is not None:
        table = _read_section(path, section)
        for key, raw in table.items():
            where = f"{section}.{key} in {path}"
            if key not in KEYS:
                raise ConfigError(where, f"is not a setting; known keys: {', '.join(KEYS)}")
            values[key] = _from_toml(KEYS[key], raw, path.parent, where)
            sources[key] = where
    for name, raw in sorted((os.environ if env is None else env).items()):
        if not name.startswith(ENV_PREFIX) or name in (CONFIG_ENV, SECTION_ENV):
            continue
        key = name.removeprefix(ENV_PREFIX).lower()
        if key not in KEYS:
            _refuse_misspelt(name, key)
            continue  # another component's variable (the plugin's INNER_UNIVERSE_TOKEN)
        values[key] = _from_text(KEYS[key], raw, name)
        sources[key] = name
    try:
        return InnerUniverseConfig(**values)
    except ConfigError as error:
        raise ConfigError(sources.get(error.key, error.key), error.reason) from None


def _refuse_misspelt(name: str, key: str) -> None:
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.75)
    if close:
        raise ConfigError(name, f"is not a setting; did you mean {env_name(close[0])}?")


def _read_section(path: Path, section: str) -> Mapping[str, Any]:
    try:
        document: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "the config file does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read the config file: {error}") from None
    except ValueError as error:  # TOMLDecodeError, or an integer past the int/str limit
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None
    for part in section.split("."):
        document = document.get(part) if isinstance(document, dict) else None
        if document is None:
            raise ConfigError(str(path), f"has no [{section}] table")
    if not isinstance(document, dict):
        raise ConfigError(f"{section} in {path}", "must be a table")
    return document


def _from_toml(kind: str, raw: Any, base: Path, where: str) -> object:
    """TOML already has types: check them; paths are relative to the config file."""
    expected = {
        "int": (int, "an integer"),
        "bool": (bool, "true or false"),
        "str": (str, "a string"),
        "optional_str": (str, "a string"),
        "path": (str, "a path string"),
        "optional_path": (str, "a path string"),
    }
    python_type, description = expected[kind]
    if not isinstance(raw, python_type) or (kind == "int" and isinstance(raw, bool)):
        raise ConfigError(where, f"must be {description}, got {raw!r}")
    if kind in ("path", "optional_path"):
        return base / Path(str(raw)).expanduser()
    return raw


def _from_text(kind: str, raw: str, where: str) -> object:
    """Environment values are text: parse them by the setting's kind."""
    text = raw.strip()
    if kind == "int":
        number = ascii_int(text.removeprefix("-"), 19)
        if number is None:  # int() would take "٢" as 2 and refuse 4,300 digits untyped
            raise ConfigError(where, f"must be an integer, got {shown(raw)}")
        return -number if text.startswith("-") else number
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(where, f"must be true or false (or 1/0, yes/no, on/off), got {raw!r}")
    if kind in ("optional_str", "optional_path") and not text:
        return None
    if kind in ("path", "optional_path"):
        return Path(text).expanduser()
    return text
