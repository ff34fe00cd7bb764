"""Reads a settings class from a TOML table and ``PREFIX_<KEY>`` environment variables.

Order: the class's defaults, then the table, then the variables. Every key is checked by its
field's `Kind` (type and range); an unknown key in the table is refused, and so is a variable
with the prefix that looks like a misspelt setting (others are left alone: a prefix may be
shared with unrelated variables). Every refusal is a `ConfigError` naming where the value came
from (``inner_universe.port in /etc/atlas.toml``, ``INNER_UNIVERSE_PORT``).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs

from nerv_inner_universe.config.errors import ConfigError
from nerv_inner_universe.config.fields import Kind, kind_of

S = TypeVar("S")


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML document at ``path``; ConfigError when it is missing, unreadable or not
    TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "cannot read the config file: it does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read the config file: {error}") from None
    except ValueError as error:  # TOMLDecodeError, or an integer past the int/str limit
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None


def table_in(
    document: Mapping[str, Any],
    section: str,
    *,
    source: Path | None = None,
    required: bool = False,
) -> Mapping[str, Any]:
    """The table ``section`` (dotted for nested tables: ``nerv.inner_universe``) of
    ``document``; empty when absent, unless ``required``."""
    table: Any = document
    for part in section.split("."):
        table = table.get(part) if isinstance(table, Mapping) else None
        if table is None:
            if required:
                raise ConfigError(str(source or "the configuration"), f"has no [{section}] table")
            return {}
    if not isinstance(table, Mapping):
        raise ConfigError(_where(section, source), "must be a table")
    return table


def load(
    cls: type[S],
    table: Mapping[str, Any],
    *,
    section: str,
    env_prefix: str,
    env: Mapping[str, str] | None = None,
    source: Path | None = None,
    foreign_tables: bool = False,
) -> S:
    """An instance of the attrs class ``cls`` (whose fields come from `fields`) from ``table``
    (the TOML table ``section`` of ``source``) and ``env_prefix`` variables of ``env``
    (``os.environ`` when None).

    Relative paths in the table are relative to ``source``'s directory. With
    ``foreign_tables``, sub-tables that are not settings belong to someone else (``[nerv]``
    holds the plugins' tables) and are skipped. Raises `ConfigError`.
    """
    kinds = _kinds(cls)
    base = source.parent if source is not None else None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, raw in table.items():
        where = _where(f"{section}.{key}", source)
        kind = kinds.get(key)
        if kind is None:
            if foreign_tables and isinstance(raw, Mapping):
                continue
            close = _closest(key, kinds)
            hint = f" (did you mean {close}?)" if close else ""
            raise ConfigError(where, f"is not a setting{hint}; known keys: {', '.join(kinds)}")
        values[key] = kind.from_toml(raw, base)
        sources[key] = where
    for name, raw in sorted((os.environ if env is None else env).items()):
        if not name.startswith(env_prefix):
            continue
        key = name.removeprefix(env_prefix).lower()
        kind = kinds.get(key)
        if kind is None:
            close = _closest(key, kinds)
            if close:
                suggestion = f"{env_prefix}{close.upper()}"
                raise ConfigError(name, f"is not a setting; did you mean {suggestion}?")
            continue  # a variable of something else that shares the prefix
        try:
            values[key] = kind.parse(raw.strip())
        except ValueError:
            raise ConfigError(name, kind.refusal(raw)) from None
        sources[key] = name
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(sources.get(error.key, error.key), error.reason) from None


def _kinds(cls: type[Any]) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    for attribute in attrs.fields(cast(Any, cls)):
        kind = kind_of(attribute)
        if kind is None:
            raise TypeError(f"{cls.__name__}.{attribute.name} is not a config field")
        kinds[attribute.name] = kind
    return kinds


def _where(key: str, source: Path | None) -> str:
    return key if source is None else f"{key} in {source}"


def _closest(key: str, kinds: Mapping[str, Kind]) -> str | None:
    close = difflib.get_close_matches(key, kinds, n=1, cutoff=0.75)
    return close[0] if close else None
