"""Redaction (`spacetime/module/src/reducers/redaction.rs`): what an admin can take out of
replay, the tombstones it leaves in ``event_log``, and one call for each kind.

A tombstone is a module event (``sys:<seq>``) whose ``source`` is the target's id and whose
data is the `EventData` variant `REDACTED_EVENT`; a redacted event's own row holds one too, in
place of its data. Its fields: ``kind``, ``target_id``, ``reason``, ``redacted_by`` (the
admin's identity) and ``content_hash`` (SHA-256, lowercase hex, of the canonical JSON it held:
an event's data, a version's state, i.e. its ``data_hash``, a delta's operations as
``[{"op": "Set", "path": ..., "value": ...}, ...]``, a config value).
"""

from __future__ import annotations

import enum

from nerv_inner_universe.contract.reducers import (
    ReducerCall,
    redact_delta,
    redact_event,
    redact_state_version,
    remove_config_key,
)

REDACTED_EVENT = "Redacted"
"""The `EventData` variant of a tombstone."""


class RedactedKind(enum.StrEnum):
    """What an admin redacts; the value is the module's ``RedactedKind`` variant name."""

    EVENT = "Event"
    STATE_VERSION = "StateVersion"
    DELTA = "Delta"
    CONFIG_KEY = "ConfigKey"

    @property
    def event_type(self) -> str:
        """The ``event_type`` of its tombstones (``EVENT_REDACTED``...)."""
        return _EVENT_TYPES[self]


_EVENT_TYPES = {
    RedactedKind.EVENT: "EVENT_REDACTED",
    RedactedKind.STATE_VERSION: "VERSION_REDACTED",
    RedactedKind.DELTA: "DELTA_REDACTED",
    RedactedKind.CONFIG_KEY: "CONFIG_KEY_REMOVED",
}


def redaction(kind: RedactedKind, target_id: str, reason: str) -> ReducerCall:
    """The admin-only call that redacts ``kind`` ``target_id`` (removes it, for a config
    key) with ``reason`` (required, at most 4096 bytes)."""
    match kind:
        case RedactedKind.EVENT:
            return redact_event(event_id=target_id, reason=reason)
        case RedactedKind.STATE_VERSION:
            return redact_state_version(version_id=target_id, reason=reason)
        case RedactedKind.DELTA:
            return redact_delta(delta_id=target_id, reason=reason)
        case RedactedKind.CONFIG_KEY:
            return remove_config_key(key=target_id, reason=reason)
