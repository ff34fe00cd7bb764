"""JsonCodec with the recorded Inner Universe schema and recorded rows."""

from __future__ import annotations

import json

import pytest

from nerv_inner_universe.client import (
    ArgumentError,
    Identity,
    JsonCodec,
    ModuleSchema,
    ProtocolError,
    Row,
    Timestamp,
)
from nerv_inner_universe.client.algebraic import parse_product
from nerv_inner_universe.client.protocol import (
    Committed,
    OneOffQueryResponse,
    SubscribeMultiApplied,
    TransactionUpdate,
    parse_server_message,
)
from nerv_inner_universe.client.sats_json import decode
from nerv_inner_universe.client.typed import TypeContext
from tests.unit.client.conftest import recorded_messages

METADATA = Row(name="Ann", description=None, tags=("a", "b"), properties='{"x":1}')


def test_encode_args_checks_and_encodes(schema: ModuleSchema) -> None:
    codec = JsonCodec(schema)
    create = schema.reducer("create_entity")
    raw = codec.encode_args(create, ["e1", "Person", METADATA])
    assert json.loads(raw) == [
        "e1",
        "Person",
        {
            "name": {"some": "Ann"},
            "description": {"none": []},
            "tags": ["a", "b"],
            "properties": '{"x":1}',
        },
    ]
    assert codec.decode_args(create, raw) == ("e1", "Person", METADATA)
    assert codec.decode_args(schema.reducer("init"), "[]") == ()


def test_encode_args_refuses_wrong_count_and_types(schema: ModuleSchema) -> None:
    codec = JsonCodec(schema)
    create = schema.reducer("create_entity")
    with pytest.raises(ArgumentError, match=r"takes 3 argument\(s\) \(entity_id: String"):
        codec.encode_args(create, ["e1"])
    with pytest.raises(ArgumentError, match=r"create_entity\.metadata\.tags: expected a list"):
        codec.encode_args(create, ["e1", "T", Row(**{**METADATA, "tags": "a"})])


def test_event_input_with_timestamp_and_options(schema: ModuleSchema) -> None:
    codec = JsonCodec(schema)
    publish = schema.reducer("publish_event")
    event = {
        "event_id": "ev1",
        "event_type": "AGENT_STEP",
        "source": None,
        "occurred_at": Timestamp(1_700_000_000_000_000),
        "data": "{}",
        "metadata": "{}",
    }
    raw = codec.encode_args(publish, [event])
    assert json.loads(raw)[0]["occurred_at"] == {
        "__timestamp_micros_since_unix_epoch__": 1_700_000_000_000_000
    }
    assert codec.decode_args(publish, raw) == (Row(**event),)


def test_both_row_shapes_decode_to_the_same_row(schema: ModuleSchema) -> None:
    """Initial rows are keyed by column name, transaction rows positional: same value."""
    frames = recorded_messages()["frames"]
    codec = JsonCodec(schema)
    entity = schema.table("entity")
    inserted = parse_server_message(frames["transaction_update_insert"])
    updated = parse_server_message(frames["transaction_update_update"])
    queried = parse_server_message(frames["one_off_query_response"])
    assert isinstance(inserted, TransactionUpdate)
    assert isinstance(inserted.status, Committed)
    assert isinstance(updated, TransactionUpdate)
    assert isinstance(updated.status, Committed)
    assert isinstance(queried, OneOffQueryResponse)
    first = codec.decode_row(entity, inserted.status.update.tables[0].inserts[0])
    deleted = codec.decode_row(entity, updated.status.update.tables[0].deletes[0])
    current = codec.decode_row(entity, updated.status.update.tables[0].inserts[0])
    named = codec.decode_row(entity, queried.tables[0].rows[0])
    assert first == deleted
    assert named == current
    assert isinstance(current, Row)
    assert current.id == "e1"
    assert current.owner == Identity.from_hex(
        "c200fa20f338ee39d0bc900d870ffda629ec2b5f92c122a076feeb4242c6f2bd"
    )
    assert current.metadata == Row(
        name="Bob", description="d", tags=("a", "b"), properties='{"x":1}'
    )
    assert isinstance(current.created_at, Timestamp)


def test_rows_with_enums(schema: ModuleSchema) -> None:
    frames = recorded_messages()["frames"]
    applied = parse_server_message(frames["subscribe_multi_applied"])
    assert isinstance(applied, SubscribeMultiApplied)
    codec = JsonCodec(schema)
    rows = [codec.decode_row(schema.table("config"), r) for r in applied.update.tables[0].inserts]
    config = {row["key"]: row for row in rows if isinstance(row, Row)}
    assert config["log_level"]["value"] == '"info"'
    assert config["log_level"]["description"] == "Module log level"


def test_sql_rows_decode_with_the_columns_the_server_sends() -> None:
    statement = recorded_messages()["sql_entity"][0]
    columns = parse_product(statement["schema"], "sql")
    (row,) = (decode(columns, r, TypeContext()) for r in statement["rows"])
    assert isinstance(row, Row)
    assert row.id == "e2"
    assert row.metadata == METADATA
    assert isinstance(row.owner, Identity)


def test_undecodable_rows_are_protocol_errors(schema: ModuleSchema) -> None:
    codec = JsonCodec(schema)
    with pytest.raises(ProtocolError, match="not JSON text"):
        codec.decode_row(schema.table("entity"), "{")
    with pytest.raises(ProtocolError, match="entity"):
        codec.decode_row(schema.table("entity"), "[1]")


def test_a_lazy_row_decodes_the_columns_read_and_equals_the_decoded_row(
    schema: ModuleSchema,
) -> None:
    frames = recorded_messages()["frames"]
    applied = parse_server_message(frames["subscribe_multi_applied"])
    assert isinstance(applied, SubscribeMultiApplied)
    codec = JsonCodec(schema)
    table = schema.table("config")
    for raw in applied.update.tables[0].inserts:
        lazy = codec.lazy_row(table, raw)
        decoded = codec.decode_row(table, raw)
        assert isinstance(decoded, Row)
        assert lazy["key"] == decoded["key"]
        assert lazy.description == decoded["description"]
        assert list(lazy) == list(decoded.field_names)
        assert lazy.decode() == decoded
        assert lazy == codec.lazy_row(table, raw)
        assert hash(lazy) == hash(codec.lazy_row(table, raw))
        with pytest.raises(AttributeError, match="no field 'nope'"):
            _ = lazy.nope


def test_a_lazy_row_that_does_not_fit_fails_when_read(schema: ModuleSchema) -> None:
    codec = JsonCodec(schema)
    table = schema.table("config")
    short = codec.lazy_row(table, '["log_level"]')
    with pytest.raises(ProtocolError, match="does not have its columns"):
        _ = short["key"]
    columns = len(table.row_type.elements)
    wrong = codec.lazy_row(table, json.dumps([7] * columns))
    with pytest.raises(ProtocolError, match=r"config\.key"):
        _ = wrong["key"]
