"""One way to configure every part of Inner Universe: typed attrs fields (`fields`), one loader
for a TOML table plus ``PREFIX_<KEY>`` environment variables (`load`), one error
(`ConfigError`). Generic: it knows nothing of NERV or SpacetimeDB, so every layer may use it."""

from nerv_inner_universe.config import fields
from nerv_inner_universe.config.errors import ConfigError
from nerv_inner_universe.config.loader import load, read_toml, table_in

__all__ = ["ConfigError", "fields", "load", "read_toml", "table_in"]
