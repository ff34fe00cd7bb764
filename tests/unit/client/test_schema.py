from __future__ import annotations

from typing import Any

import pytest

from nerv_inner_universe.client import (
    ArrayType,
    ModuleSchema,
    Primitive,
    ProductType,
    Ref,
    SchemaError,
    SumType,
    Typespace,
)
from nerv_inner_universe.client.algebraic import (
    IDENTITY,
    TIMESTAMP,
    UNIT,
    SpecialKind,
    describe,
    option,
    parse_type,
)
from tests.unit.client.conftest import recorded_schema_json


def test_parses_every_type_kind() -> None:
    assert parse_type({"U64": []}) is Primitive.U64
    assert parse_type({"String": []}) is Primitive.STRING
    assert parse_type({"Ref": 3}) == Ref(3)
    assert parse_type({"Array": {"U8": []}}) == ArrayType(Primitive.U8)
    product = parse_type(
        {
            "Product": {
                "elements": [
                    {"name": {"some": "a"}, "algebraic_type": {"Bool": []}},
                    {"name": {"none": []}, "algebraic_type": {"F32": []}},
                ]
            }
        }
    )
    assert isinstance(product, ProductType)
    assert product.field_names == ("a", None)
    sum_type = parse_type(
        {
            "Sum": {
                "variants": [
                    {"name": {"some": "some"}, "algebraic_type": {"I128": []}},
                    {"name": {"some": "none"}, "algebraic_type": {"Product": {"elements": []}}},
                ]
            }
        }
    )
    assert sum_type == option(Primitive.I128)
    assert isinstance(sum_type, SumType)
    assert sum_type.option_of is Primitive.I128


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"Nope": []}, "unknown type 'Nope'"),
        ({"Ref": "x"}, "Ref needs an integer"),
        ([], "one-key object"),
        ({"Product": {"elements": "x"}}, "'elements'"),
        ({"Product": {"elements": [{"name": 1, "algebraic_type": {"U8": []}}]}}, "optional name"),
    ],
)
def test_malformed_types_raise_schema_error(obj: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_type(obj)


def test_special_types_are_recognised_by_shape() -> None:
    assert IDENTITY.special is SpecialKind.IDENTITY
    assert TIMESTAMP.special is SpecialKind.TIMESTAMP
    look_alike = ProductType(IDENTITY.elements[:0])
    assert look_alike.special is None
    assert describe(IDENTITY) == "Identity"
    assert describe(option(ArrayType(Primitive.U8))) == "Option<Array<U8>>"
    assert describe(UNIT) == "struct{}"
    assert describe(Ref(2)) == "&2"


def test_typespace_resolves_chains_and_refuses_cycles() -> None:
    typespace = Typespace((Ref(1), Primitive.BOOL, Ref(2)))
    assert typespace.resolve(Ref(0)) is Primitive.BOOL
    with pytest.raises(SchemaError, match="dangling or cyclic"):
        typespace.resolve(Ref(2))
    with pytest.raises(SchemaError, match="dangling or cyclic"):
        typespace.resolve(Ref(9))


def test_recorded_schema_tables(schema: ModuleSchema) -> None:
    assert set(schema.tables) == {
        "admin",
        "client_connection",
        "config",
        "delta_record",
        "entity",
        "event_log",
        "log_sequence",
        "relation",
        "state_version",
        "timeline",
    }
    entity = schema.table("entity")
    assert entity.column_names == (
        "id",
        "entity_type",
        "created_at",
        "updated_at",
        "owner",
        "metadata",
    )
    assert entity.primary_key == (0,)
    assert entity.primary_key_names == ("id",)
    assert entity.public
    assert not entity.system
    assert schema.table("admin").public is False
    assert entity.row_type == schema.typespace.resolve(entity.type_ref)
    assert entity.row_type.elements[2].type == TIMESTAMP
    assert entity.row_type.elements[4].type == IDENTITY
    assert {index.name for index in entity.indexes} >= {"entity_entity_type_idx_btree"}
    by_type = next(i for i in entity.indexes if i.name == "entity_entity_type_idx_btree")
    assert (by_type.algorithm, by_type.columns) == ("BTree", (1,))
    assert schema.table("event_log").unique_columns == ((0,), (1,))


def test_recorded_schema_reducers_and_types(schema: ModuleSchema) -> None:
    create = schema.reducer("create_entity")
    assert [e.name for e in create.params.elements] == ["entity_id", "entity_type", "metadata"]
    assert create.lifecycle is None
    metadata = create.params.elements[2].type
    assert isinstance(metadata, Ref)
    assert schema.type_names[metadata.index] == "EntityMetadata"
    assert schema.reducer("init").lifecycle == "Init"
    assert schema.reducer("client_connected").lifecycle == "OnConnect"
    events = schema.reducer("publish_events").params.elements[0].type
    assert isinstance(events, ArrayType)


def test_unknown_names_say_what_exists(schema: ModuleSchema) -> None:
    with pytest.raises(SchemaError, match="no table 'nope'; tables: admin, client_connection"):
        schema.table("nope")
    with pytest.raises(SchemaError, match="no reducer 'nope'; reducers: client_connected"):
        schema.reducer("nope")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("tables"), "missing 'tables'"),
        (lambda s: s["tables"][0].update(product_type_ref=999), "dangling"),
        (lambda s: s["tables"][0].update(table_access="Public"), "enum tag"),
        (lambda s: s["reducers"][0].update(lifecycle={"some": 3}), "enum tag"),
        (lambda s: s["types"][0]["name"].update(scope="x"), "scope is a list"),
    ],
)
def test_malformed_schemas_raise_schema_error(mutate: Any, message: str) -> None:
    raw = recorded_schema_json()
    mutate(raw)
    with pytest.raises(SchemaError, match=message):
        ModuleSchema.from_json(raw)


def test_a_schema_must_be_an_object() -> None:
    with pytest.raises(SchemaError, match="JSON object"):
        ModuleSchema.from_json([])
