"""The database-name rule every configuration shares (controller and plugin)."""

from __future__ import annotations

import re

_DATABASE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

DATABASE_NAME_RULE = (
    "lowercase letters and digits in groups joined by single '-' (like inner-universe)"
)
"""Describes what `is_database_name` accepts, for error messages."""


def is_database_name(name: str) -> bool:
    """Whether ``name`` is a database name this package publishes and connects to."""
    return bool(_DATABASE_NAME.fullmatch(name))
