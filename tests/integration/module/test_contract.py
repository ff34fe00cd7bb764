"""The contract package against the running module: its reducer functions, table names and
argument types match the module's schema, its default config rows are what `init` writes, and
the module refuses a call with every `ErrorCode` (so none is mirrored but never used)."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    DbConnection,
    ModuleSchema,
    ProductType,
    Ref,
    SpacetimeHttp,
    SumType,
    Timestamp,
)
from nerv_inner_universe.contract import (
    EntityMetadata,
    ErrorCode,
    ReducerCall,
    ReducerRefusedError,
    RelationMetadata,
    Table,
)
from nerv_inner_universe.contract import reducers as reducer_module
from tests.integration.http_api import Database

AT = Timestamp(1_700_000_000_000_000)
GONE = contract.EventInput(
    event_id="gone", event_type="STEP", source=None, occurred_at=AT, data="{}"
)
"""An event the refusal test publishes and redacts, then publishes again."""


@pytest.fixture
async def http(inner_universe: Database) -> AsyncIterator[SpacetimeHttp]:
    async with SpacetimeHttp(inner_universe.base_url, token=inner_universe.token) as client:
        yield client


@pytest.fixture
async def schema(http: SpacetimeHttp, inner_universe: Database) -> ModuleSchema:
    return await http.schema(inner_universe.name)


def schema_index(schema: ModuleSchema, name: str) -> int:
    [index] = [i for i, type_name in schema.type_names.items() if type_name == name]
    return index


def named_type(schema: ModuleSchema, name: str) -> ProductType | SumType:
    resolved = schema.typespace.resolve(Ref(schema_index(schema, name)))
    assert isinstance(resolved, ProductType | SumType), name
    return resolved


def reducer_functions() -> dict[str, Callable[..., ReducerCall]]:
    types = {"ReducerCall", "ReducerCaller"}
    names = [name for name in reducer_module.__all__ if name not in types]
    return {name: getattr(reducer_module, name) for name in names}


def test_every_reducer_has_one_function_with_its_parameters(schema: ModuleSchema) -> None:
    callable_by_clients = {
        name for name, reducer in schema.reducers.items() if reducer.lifecycle is None
    }
    functions = reducer_functions()
    assert set(functions) == callable_by_clients
    for name, function in functions.items():
        params = tuple(str(p) for p in schema.reducer(name).params.field_names)
        signature = inspect.signature(function).parameters
        assert tuple(signature) == params, f"{name}: keyword names in the module's order"
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in signature.values()), name
        sentinels: dict[str, Any] = {
            p: [] if p in ("operations", "events") else object() for p in params
        }
        call = function(**sentinels)
        assert call.reducer == name
        assert call.names == params, f"{name}: arguments go out in the module's order"
        assert call.args == tuple(sentinels.values())


def test_the_tables_are_the_modules(schema: ModuleSchema) -> None:
    user_tables = {name for name, table in schema.tables.items() if not table.system}
    assert user_tables == {str(table) for table in Table}


def test_the_argument_types_have_the_modules_fields(schema: ModuleSchema) -> None:
    types: list[type] = [
        contract.EntityMetadata,
        contract.RelationMetadata,
        contract.DeltaMetadata,
        contract.EventInput,
        contract.EsEventInput,
        contract.EsTrackingInput,
        contract.SetOperation,
        contract.DeleteOperation,
        contract.InsertOperation,
        contract.RemoveOperation,
        contract.PatchOperation,
    ]
    for cls in types:
        module_type = named_type(schema, cls.__name__)
        assert isinstance(module_type, ProductType)
        assert module_type.field_names == tuple(f.name for f in attrs.fields(cls)), cls
    operation = named_type(schema, "DeltaOperation")
    assert isinstance(operation, SumType)
    assert {(v.name, v.type) for v in operation.variants} == {
        (cls.VARIANT, Ref(schema_index(schema, cls.__name__)))
        for cls in (
            contract.SetOperation,
            contract.DeleteOperation,
            contract.InsertOperation,
            contract.RemoveOperation,
            contract.PatchOperation,
        )
    }
    batch = named_type(schema, "ImportBatch")
    assert isinstance(batch, SumType)
    assert {v.name for v in batch.variants} == {
        "Begin",
        "Finish",
        *contract.IMPORTED_TABLES.values(),
    }
    event_data = named_type(schema, "EventData")
    assert isinstance(event_data, SumType)
    assert event_data.variant_index(contract.CUSTOM_EVENT) is not None


def test_init_writes_the_default_config(inner_universe: Database) -> None:
    rows = {row["key"]: row["value"] for row in inner_universe.sql("SELECT * FROM config")}
    assert rows == contract.DEFAULT_CONFIG


def entity(entity_id: str, entity_type: str = "agent") -> ReducerCall:
    return contract.create_entity(
        entity_id=entity_id, entity_type=entity_type, metadata=EntityMetadata()
    )


def version(
    version_id: str, parent: str | None, state: str, snapshot: str | None, timeline: str = "main"
) -> ReducerCall:
    return contract.commit_state_version(
        version_id=version_id,
        timeline=timeline,
        parent_version_id=parent,
        occurred_at=AT,
        description="",
        data_hash=hashlib.sha256(state.encode()).hexdigest(),
        operations=[],
        snapshot=snapshot,
    )


async def test_the_module_refuses_with_every_code(
    http: SpacetimeHttp, inner_universe: Database
) -> None:
    database = inner_universe.name
    for call in [
        entity("e1"),
        entity("e2"),
        contract.create_relation(
            relation_id="r1",
            from_entity="e1",
            to_entity="e2",
            relation_type="uses",
            metadata=RelationMetadata(),
        ),
        version("v1", None, "1", "1"),
        version("v2", "v1", "1", None),
        contract.publish_event(event=GONE),
        contract.redact_event(event_id=GONE.event_id, reason="poisoned"),
    ]:
        await call.send_http(http, database)
    stranger = SpacetimeHttp(inner_universe.base_url, token=inner_universe.new_identity())
    refusals: dict[ErrorCode, tuple[SpacetimeHttp, ReducerCall]] = {
        ErrorCode.INVALID_ARGUMENT: (http, entity("e3", entity_type="")),
        ErrorCode.NOT_FOUND: (http, contract.delete_entity(entity_id="missing")),
        ErrorCode.ALREADY_EXISTS: (http, entity("e1", entity_type="tool")),
        ErrorCode.PERMISSION_DENIED: (
            stranger,
            contract.update_config(key="log_level", value='"debug"', description=None),
        ),
        ErrorCode.IN_USE: (http, contract.delete_entity(entity_id="e1")),
        ErrorCode.CONFLICT: (http, version("v3", "v1", "1", None)),
        ErrorCode.INTEGRITY_ERROR: (http, version("w1", None, "1", "2", timeline="side")),
        ErrorCode.SNAPSHOT_REQUIRED: (http, version("w1", None, "1", None, timeline="side")),
        ErrorCode.REDACTED: (http, contract.publish_event(event=GONE)),
    }
    # `client_connected` refuses a connection with `resource_exhausted`: test_settings.py
    # `test_max_connections_is_enforced_for_all_but_admins` asserts it; test_write_budget.py
    # asserts rate_limited; a database closed for a stop refuses every change with
    # `unavailable`: test_write_fence.py asserts it; a half-imported database refuses it with
    # `import_open`: test_import.py asserts it.
    excluded = {
        ErrorCode.RESOURCE_EXHAUSTED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.UNAVAILABLE,
        ErrorCode.IMPORT_OPEN,
    }
    assert set(refusals) | excluded == set(ErrorCode)
    async with stranger:
        for code, (caller, call) in refusals.items():
            before = inner_universe.snapshot()
            with pytest.raises(ReducerRefusedError) as refused:
                await call.send_http(caller, database)
            assert refused.value.code is code, f"{call.reducer}: {refused.value}"
            assert refused.value.refusal.message, "the message names what was wrong"
            assert inner_universe.snapshot() == before, f"{code} changed nothing"


async def test_a_refusal_over_the_websocket_carries_its_code(inner_universe: Database) -> None:
    async with DbConnection(
        inner_universe.base_url, inner_universe.name, token=inner_universe.token
    ) as connection:
        await entity("e1").send(connection)
        with pytest.raises(ReducerRefusedError) as refused:
            await entity("e1", entity_type="tool").send(connection)
    assert refused.value.code is ErrorCode.ALREADY_EXISTS
    assert refused.value.refusal.message == 'entity "e1" already exists with different content'
