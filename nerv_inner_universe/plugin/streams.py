"""The plugin's internal names: a projector stream ``s`` hangs its deltas on the root version
``stream.<s>.base`` of timeline ``stream.<s>`` (the module requires a delta's version to
exist), and delta ``n`` of ``s`` written by writer ``w`` is stored as ``<s>:<n>.<w>``. A
stream may hold deltas under ids of other forms too (written without the plugin): they are
read in their place in the log all the same (`delta_index`).

The anchor timelines are bookkeeping, not user state: `is_internal_timeline` tells them apart
so that listings leave them out and a TemporalStore is refused on one.
"""

from __future__ import annotations

import re

from nerv_inner_universe.client.numbers import ascii_int
from nerv_inner_universe.shown import shown

ANCHOR_PREFIX = "stream."
"""Timelines (and anchor versions) starting with this belong to the plugin."""

MAX_ID = 128
"""The module's limit on ids and names (bytes; ``spacetime/rules/src/limits.rs``)."""

WRITER_TAG_LENGTH = 12
"""The length of a recorder's writer tag (`delta_id`)."""

MAX_STREAM = MAX_ID - len(":") - 19 - len(".") - WRITER_TAG_LENGTH
"""The longest stream name whose delta ids (``<s>:<n>.<w>``, ``n`` up to 19 digits) fit."""

_STREAM_NAME = re.compile(r"[A-Za-z0-9._:-]+")


def stream_name_problem(name: str) -> str | None:
    """What makes ``name`` unusable as a ``[nerv] stream`` (None: nothing). Stream names go
    into ids (`anchor_version`, `delta_id`), so the module's id rules hold, with room for the
    rest of a delta id: 1-`MAX_STREAM` characters of ``[A-Za-z0-9._:-]``."""
    if not _STREAM_NAME.fullmatch(name) or len(name) > MAX_STREAM:
        return f"must be 1-{MAX_STREAM} characters of [A-Za-z0-9._:-], not {shown(name)}"
    return None


def anchor_timeline(stream: str) -> str:
    """The timeline holding projector stream ``stream``'s anchor."""
    return f"{ANCHOR_PREFIX}{stream}"


def anchor_version(stream: str) -> str:
    """The id of projector stream ``stream``'s anchor (root) version."""
    return f"{ANCHOR_PREFIX}{stream}.base"


def is_internal_timeline(name: str) -> bool:
    """Whether ``name`` is reserved for the plugin's stream anchors (``stream.<s>``)."""
    return name.startswith(ANCHOR_PREFIX)


def delta_id(stream: str, index: int, writer: str) -> str:
    """The id delta ``index`` of projector stream ``stream`` is stored under when ``writer``
    (the recorder's random tag: letters and digits, not all digits) writes it. Two processes
    that number a delta alike still store two deltas; the same process sending one again
    sends the same id, which the module accepts once."""
    return f"{stream}:{index}.{writer}"


def delta_index(stream: str, stored_id: str, lowest: int) -> int:
    """The index a stored delta of ``stream`` is applied under when the first free index is
    ``lowest`` (the one after the delta before it in the log, 0 for the first): the index in
    its id, ``<stream>:<n>.<writer>`` or ``<stream>:<n>`` as earlier versions wrote it (``n``
    ASCII digits), raised to ``lowest`` when two writers numbered theirs alike; ``lowest`` for
    an id of any other form, which another writer chose (the module accepts any id but
    ``<other stream>:<n>``): still a delta of the stream, in its place in the log.

    Indexes so rise along the log, and the next one this process numbers (`delta_id`) is past
    every delta stored before it, whatever its id's form. The module numbers the deltas of
    its checkpoints alike (`rules/src/checkpoints.rs` ``delta_index``: keep the two the same)."""
    prefix = f"{stream}:"
    digits = stored_id[len(prefix) :].split(".", 1)[0] if stored_id.startswith(prefix) else ""
    index = ascii_int(digits, 19)
    return lowest if index is None else max(index, lowest)
