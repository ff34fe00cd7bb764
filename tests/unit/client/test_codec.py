"""JsonCodec with the recorded Inner Universe schema and recorded rows."""

from __future__ import annotations

import json
import re

import attrs
import pytest

from nerv_inner_universe.client import (
    ArgumentError,
    BsatnCodec,
    Identity,
    JsonCodec,
    ModuleSchema,
    ProtocolError,
    Row,
    TableDef,
    Timestamp,
    TypeRegistry,
    bsatn,
)
from nerv_inner_universe.client.algebraic import parse_product
from nerv_inner_universe.client.protocol import (
    Committed,
    DatabaseUpdate,
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
    with pytest.raises(ProtocolError, match="not JSON text"):
        codec.decode_columns(schema.table("entity"), "{")
    with pytest.raises(ProtocolError, match="entity"):
        codec.decode_columns(schema.table("entity"), "[1]")


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


# --- BsatnCodec: the same values as JsonCodec --------------------------------------------


def recorded_rows(schema: ModuleSchema) -> list[tuple[TableDef, str]]:
    """Every row of the recorded frames, with its table."""
    rows = []
    for frame in recorded_messages()["frames"].values():
        message = parse_server_message(frame)
        update: DatabaseUpdate | None = None
        if isinstance(message, SubscribeMultiApplied):
            update = message.update
        elif isinstance(message, TransactionUpdate) and isinstance(message.status, Committed):
            update = message.status.update
        if update is not None:
            for table in update.tables:
                rows += [(schema.table(table.table_name), str(raw)) for raw in table.inserts]
    return rows


def test_bsatn_rows_decode_to_what_json_rows_decode_to(schema: ModuleSchema) -> None:
    json_codec, bsatn_codec = JsonCodec(schema), BsatnCodec(schema)
    context = TypeContext(schema.typespace, schema.type_names)
    rows = recorded_rows(schema)
    assert {table.name for table, _ in rows} >= {"entity", "config"}
    for table, text in rows:
        value = json_codec.decode_row(table, text)
        assert isinstance(value, Row)
        raw = bsatn.encode(table.type_ref, value, context)
        assert bsatn_codec.decode_row(table, raw) == value
        lazy = bsatn_codec.lazy_row(table, raw)
        assert lazy.decode() == value
        assert lazy == bsatn_codec.lazy_row(table, raw)
        assert [lazy[name] for name in lazy] == [value[name] for name in table.column_names]
        columns = tuple(value[name] for name in table.column_names)
        assert bsatn_codec.decode_columns(table, raw) == columns
        assert json_codec.decode_columns(table, text) == columns


def test_bsatn_arguments_round_trip_and_are_checked_like_json(schema: ModuleSchema) -> None:
    json_codec, bsatn_codec = JsonCodec(schema), BsatnCodec(schema)
    create = schema.reducer("create_entity")
    raw = bsatn_codec.encode_args(create, ["e1", "Person", METADATA])
    assert raw[:6] == b"\x02\x00\x00\x00e1"
    assert bsatn_codec.decode_args(create, raw) == ("e1", "Person", METADATA)
    assert bsatn_codec.decode_args(schema.reducer("init"), b"") == ()
    for wrong in (["e1"], ["e1", "T", Row(**{**METADATA, "tags": "a"})]):
        with pytest.raises(ArgumentError) as from_json:
            json_codec.encode_args(create, wrong)
        with pytest.raises(ArgumentError, match=re.escape(str(from_json.value))):
            bsatn_codec.encode_args(create, wrong)


def test_undecodable_bsatn_rows_are_protocol_errors(schema: ModuleSchema) -> None:
    codec = BsatnCodec(schema)
    entity = schema.table("entity")
    with pytest.raises(ProtocolError, match=r"^entity \(struct\{.*\}\): truncated"):
        codec.decode_row(entity, b"\x05\x00\x00\x00e1")
    with pytest.raises(ProtocolError, match="must be bytes, got str"):
        codec.decode_row(entity, "[]")
    with pytest.raises(ProtocolError, match="truncated"):
        _ = codec.lazy_row(entity, b"\x01")["id"]
    with pytest.raises(ProtocolError, match=r"^entity \(struct\{.*\}\): truncated"):
        codec.decode_columns(entity, b"\x05\x00\x00\x00e1")
    with pytest.raises(ProtocolError, match="must be bytes, got str"):
        codec.decode_columns(entity, "[]")
    with pytest.raises(ProtocolError, match=r"^create_entity \(.*\): truncated"):
        codec.decode_args(schema.reducer("create_entity"), b"\x01")


def test_columns_are_read_alike_with_a_class_registered_for_the_row(schema: ModuleSchema) -> None:
    table = schema.table("config")
    row_class = attrs.make_class("ConfigRow", list(table.column_names), frozen=True)
    registry = TypeRegistry()
    registry.register(schema.type_names[table.type_ref.index], row_class)
    context = TypeContext(schema.typespace, schema.type_names)
    applied = parse_server_message(recorded_messages()["frames"]["subscribe_multi_applied"])
    assert isinstance(applied, SubscribeMultiApplied)
    json_codec, bsatn_codec = JsonCodec(schema, registry), BsatnCodec(schema, registry)
    for text in applied.update.tables[0].inserts:
        plain = JsonCodec(schema).decode_row(table, text)
        assert isinstance(plain, Row)
        raw = bsatn.encode(table.type_ref, plain, context)
        assert isinstance(json_codec.decode_row(table, text), row_class)
        assert isinstance(bsatn_codec.decode_row(table, raw), row_class)
        assert json_codec.decode_columns(table, text) == plain.as_tuple()
        assert bsatn_codec.decode_columns(table, raw) == plain.as_tuple()


def test_a_bsatn_lazy_row_decodes_only_the_columns_up_to_the_one_read(
    schema: ModuleSchema,
) -> None:
    codec = BsatnCodec(schema)
    context = TypeContext(schema.typespace, schema.type_names)
    for table, text in recorded_rows(schema):
        value = JsonCodec(schema).decode_row(table, text)
        assert isinstance(value, Row)
        raw = bsatn.encode(table.type_ref, value, context)
        first, last = table.column_names[0], table.column_names[-1]
        backwards = codec.lazy_row(table, raw)
        assert [backwards[name] for name in reversed(table.column_names)] == [
            value[name] for name in reversed(table.column_names)
        ]
        cut = codec.lazy_row(table, raw[:-1])  # the last column is short a byte
        assert cut[first] == value[first]
        with pytest.raises(ProtocolError, match="truncated"):
            _ = cut[last]
        longer = codec.lazy_row(table, raw + b"\x00")  # only the last column checks the end
        assert longer[first] == value[first]
        with pytest.raises(ProtocolError, match="1 trailing byte"):
            _ = longer[last]
