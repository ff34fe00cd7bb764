"""The Python face of the Rust module in `spacetime/module`: what generated bindings would be.

Everything a Python caller must agree on with the module lives here, once:

- `reducers`: one keyword-argument function per reducer, returning a `ReducerCall` to send
  over a `DbConnection` or the HTTP API;
- `types`: the reducers' argument types as attrs classes (`EntityMetadata`, `EventInput`,
  the `DeltaOperation` variants...);
- `errors`: `ErrorCode` (mirrors the Rust `Code`), `Refusal.parse` for ``"<code>: <message>"``
  and `ReducerRefusedError`;
- `tables`: the table names (`Table`) and the `ImportBatch` variants;
- `names`: the module's rule for names (`name_problem`);
- `config`: the default config rows, the write budget keys and the snapshot rule;
- `redaction`: what an admin can redact, the tombstones' event types, one call per kind.

Layering: uses `client/` (knows nothing of NERV); `plugin/`, `controller/` and the examples use
it, nothing here uses them. When the module changes, change this package in the same commit:
`tests/unit/contract` compares it with the Rust source and `tests/integration/module/
test_contract.py` with the running module's schema and refusals.
"""

from __future__ import annotations

from nerv_inner_universe.contract.config import (
    DEFAULT_CONFIG,
    DEFAULT_SNAPSHOT_INTERVAL,
    MAX_CONFIG_KEYS,
    MAX_CONNECTIONS_LIMIT,
    MAX_DELEGATES_PER_OWNER,
    MAX_SNAPSHOT_INTERVAL,
    MAX_TIMEOUT_SECONDS,
    MAX_WRITE_BUDGET_WINDOW_SECONDS,
    SNAPSHOT_INTERVAL_KEY,
    WRITE_BUDGET_BYTES_KEY,
    WRITE_BUDGET_EVENTS_KEY,
    WRITE_BUDGET_WINDOW_KEY,
    parse_interval,
    snapshot_required,
)
from nerv_inner_universe.contract.errors import ErrorCode, ReducerRefusedError, Refusal
from nerv_inner_universe.contract.names import MAX_NAME_BYTES, name_problem
from nerv_inner_universe.contract.redaction import REDACTED_EVENT, RedactedKind, redaction
from nerv_inner_universe.contract.reducers import (
    BlockingReducerCaller,
    ReducerCall,
    ReducerCaller,
    checkpoint,
    commit_state_version,
    create_entity,
    create_relation,
    delete_entity,
    delete_relation,
    es_insert_events,
    grant_role,
    grant_stream_access,
    import_rows,
    publish_event,
    publish_events,
    record_delta,
    redact_delta,
    redact_event,
    redact_state_version,
    remove_config_key,
    reopen,
    revoke_role,
    revoke_stream_access,
    set_client_info,
    set_stream_owner,
    update_config,
    update_entity,
    update_relation,
)
from nerv_inner_universe.contract.tables import (
    CUSTOM_EVENT,
    IMPORT_STALLED_AFTER_SECONDS,
    IMPORTED_TABLES,
    LOG_PAGE_ROWS,
    MODULE_EVENT_TYPES,
    NOT_IMPORTED,
    Table,
    import_batch,
    import_begin,
    import_finish,
)
from nerv_inner_universe.contract.types import (
    MAX_OCCURRED_AT_MICROS,
    MIN_OCCURRED_AT_MICROS,
    DeleteOperation,
    DeltaMetadata,
    DeltaOperation,
    EntityMetadata,
    EsEventInput,
    EsTrackingInput,
    EventInput,
    InsertOperation,
    PatchOperation,
    RelationMetadata,
    RemoveOperation,
    Role,
    SetOperation,
    occurred_at_in_range,
)

__all__ = [
    "CUSTOM_EVENT",
    "DEFAULT_CONFIG",
    "DEFAULT_SNAPSHOT_INTERVAL",
    "IMPORTED_TABLES",
    "IMPORT_STALLED_AFTER_SECONDS",
    "LOG_PAGE_ROWS",
    "MAX_CONFIG_KEYS",
    "MAX_CONNECTIONS_LIMIT",
    "MAX_DELEGATES_PER_OWNER",
    "MAX_NAME_BYTES",
    "MAX_OCCURRED_AT_MICROS",
    "MAX_SNAPSHOT_INTERVAL",
    "MAX_TIMEOUT_SECONDS",
    "MAX_WRITE_BUDGET_WINDOW_SECONDS",
    "MIN_OCCURRED_AT_MICROS",
    "MODULE_EVENT_TYPES",
    "NOT_IMPORTED",
    "REDACTED_EVENT",
    "SNAPSHOT_INTERVAL_KEY",
    "WRITE_BUDGET_BYTES_KEY",
    "WRITE_BUDGET_EVENTS_KEY",
    "WRITE_BUDGET_WINDOW_KEY",
    "BlockingReducerCaller",
    "DeleteOperation",
    "DeltaMetadata",
    "DeltaOperation",
    "EntityMetadata",
    "ErrorCode",
    "EsEventInput",
    "EsTrackingInput",
    "EventInput",
    "InsertOperation",
    "PatchOperation",
    "RedactedKind",
    "ReducerCall",
    "ReducerCaller",
    "ReducerRefusedError",
    "Refusal",
    "RelationMetadata",
    "RemoveOperation",
    "Role",
    "SetOperation",
    "Table",
    "checkpoint",
    "commit_state_version",
    "create_entity",
    "create_relation",
    "delete_entity",
    "delete_relation",
    "es_insert_events",
    "grant_role",
    "grant_stream_access",
    "import_batch",
    "import_begin",
    "import_finish",
    "import_rows",
    "name_problem",
    "occurred_at_in_range",
    "parse_interval",
    "publish_event",
    "publish_events",
    "record_delta",
    "redact_delta",
    "redact_event",
    "redact_state_version",
    "redaction",
    "remove_config_key",
    "reopen",
    "revoke_role",
    "revoke_stream_access",
    "set_client_info",
    "set_stream_owner",
    "snapshot_required",
    "update_config",
    "update_entity",
    "update_relation",
]
