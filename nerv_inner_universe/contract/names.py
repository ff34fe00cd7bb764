"""The module's rule for names (``text::validate_name`` in `spacetime/rules/src/text.rs`):
type names, timeline names, `eventsourcing` store names."""

from __future__ import annotations

import re

from nerv_inner_universe.shown import shown

MAX_NAME_BYTES = 128
"""The longest name the module takes, in bytes (``limits::MAX_NAME_LEN``)."""

_NAME = re.compile(r"[A-Za-z0-9._:/-]+")


def name_problem(name: str) -> str | None:
    """What makes ``name`` a name the module refuses (None: nothing): it must be 1 to
    `MAX_NAME_BYTES` characters of ``[A-Za-z0-9._:/-]``."""
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME_BYTES:
        return f"must be 1-{MAX_NAME_BYTES} characters of [A-Za-z0-9._:/-], not {shown(name)}"
    return None
