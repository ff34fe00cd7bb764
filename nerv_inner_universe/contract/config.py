"""The module's ``config`` table: the rows `init` writes (`spacetime/rules/src/config.rs`)
and the snapshot rule that reads one of them (`spacetime/rules/src/snapshots.rs`).

Mirrored so that a client sends a snapshot exactly when the module requires one; a test
compares these with the Rust source.
"""

from __future__ import annotations

import re

SNAPSHOT_INTERVAL_KEY = "snapshot_interval"
DEFAULT_SNAPSHOT_INTERVAL = 50
"""Versions per snapshot on a timeline when the config row is missing or not an integer in
``1..MAX_SNAPSHOT_INTERVAL`` (and the row `init` writes)."""
MAX_SNAPSHOT_INTERVAL = 10_000
"""The largest ``snapshot_interval`` the module accepts."""
MAX_CONNECTIONS_LIMIT = 100_000
"""The largest ``max_connections`` the module accepts (`rules/src/config.rs`)."""
MAX_TIMEOUT_SECONDS = 86_400.0
"""The largest ``timeout`` the module accepts, in seconds (`rules/src/config.rs`)."""

MAX_CONFIG_KEYS = 1_000
"""Config keys in all (`rules/src/limits.rs`); a writer's new key beyond is
``resource_exhausted`` (an admin's is not refused)."""
MAX_DELEGATES_PER_OWNER = 1_000
"""Identities one owner may grant access to its streams (`grant_stream_access`,
`rules/src/limits.rs`); a grant beyond is ``resource_exhausted``."""
WRITE_BUDGET_EVENTS_KEY = "write_budget_events"
"""Events (log rows and stored events) each identity but an admin may write per window;
0 (the default) is unlimited (`rules/src/budget.rs`)."""
WRITE_BUDGET_BYTES_KEY = "write_budget_bytes"
"""Bytes (stored rows' BSATN size) each identity but an admin may write per window; 0 (the
default) is unlimited."""
WRITE_BUDGET_WINDOW_KEY = "write_budget_window_seconds"
"""The length of a write budget window, in seconds (1 to `MAX_WRITE_BUDGET_WINDOW_SECONDS`)."""
MAX_WRITE_BUDGET_WINDOW_SECONDS = 86_400

DEFAULT_CONFIG: dict[str, str] = {
    "max_connections": "100",
    "max_event_bytes": "1048576",
    "timeout": "30.0",
    "auth_required": "true",
    SNAPSHOT_INTERVAL_KEY: str(DEFAULT_SNAPSHOT_INTERVAL),
    WRITE_BUDGET_EVENTS_KEY: "0",
    WRITE_BUDGET_BYTES_KEY: "0",
    WRITE_BUDGET_WINDOW_KEY: "60",
}
"""Key -> canonical JSON text of the rows `init` writes into ``config``."""

_U64 = re.compile(r"\+?[0-9]+")


def snapshot_required(has_parent: bool, versions_since_snapshot: int, interval: int) -> bool:
    """Whether the next version of a timeline must carry a full snapshot: always for a root
    version (nothing to apply its operations to), otherwise when ``interval`` versions would
    pass without one. ``versions_since_snapshot`` is the timeline row's count; an
    ``interval`` below 1 behaves as 1."""
    return not has_parent or versions_since_snapshot + 1 >= max(interval, 1)


def parse_interval(value: str | None) -> int:
    """The interval from the ``snapshot_interval`` row's JSON text (None: no row), falling
    back to `DEFAULT_SNAPSHOT_INTERVAL` as the module does (outside ``1..MAX_SNAPSHOT_INTERVAL``
    too)."""
    if value is None or len(value) > 20 or not _U64.fullmatch(value):
        return DEFAULT_SNAPSHOT_INTERVAL
    interval = int(value)
    return interval if 0 < interval <= MAX_SNAPSHOT_INTERVAL else DEFAULT_SNAPSHOT_INTERVAL
