"""SATS-JSON round trips for every kind of type, in both shapes the server writes."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.client import (
    ArgumentError,
    ArrayType,
    ConnectionId,
    Identity,
    Primitive,
    ProductType,
    ProtocolError,
    Ref,
    Row,
    SchemaError,
    SumType,
    TimeDuration,
    Timestamp,
    TypeRegistry,
    Typespace,
    Variant,
)
from nerv_inner_universe.client.algebraic import (
    BYTES,
    CONNECTION_ID,
    IDENTITY,
    TIME_DURATION,
    TIMESTAMP,
    UNIT,
    AlgebraicType,
    ProductElement,
    SpecialKind,
    SumVariant,
    option,
)
from nerv_inner_universe.client.sats_json import (
    compiled_encoder,
    decode,
    encode,
    encoder,
)
from nerv_inner_universe.client.typed import TypeContext
from tests.unit.client.sats_strategies import types, values_of

CTX = TypeContext()


def positional(ty: AlgebraicType, wire: Any) -> Any:
    """The shape of rows in transaction updates and /sql: products as arrays, sums as
    ``[tag, payload]`` (as the server writes values it holds without their type)."""
    match ty:
        case ArrayType() if ty.element is not Primitive.U8:
            return [positional(ty.element, w) for w in wire]
        case SumType():
            ((name, payload),) = wire.items()
            tag = ty.variant_index(name)
            assert tag is not None
            return [tag, positional(ty.variants[tag].type, payload)]
        case ProductType():
            return [positional(e.type, wire[e.name]) for e in ty.elements] if wire else []
    return wire


@given(types.flatmap(lambda ty: st.tuples(st.just(ty), values_of(ty))))
def test_round_trip_through_json_in_both_shapes(case: tuple[AlgebraicType, object]) -> None:
    ty, value = case
    wire = json.loads(json.dumps(encode(ty, value, CTX)))
    assert decode(ty, wire, CTX) == value
    assert decode(ty, positional(ty, wire), CTX) == value


@pytest.mark.parametrize(
    ("ty", "value", "wire"),
    [
        (Primitive.U256, (1 << 256) - 1, "0x" + "f" * 64),
        (Primitive.I256, -255, "-0xff"),
        (Primitive.U128, (1 << 128) - 1, (1 << 128) - 1),
        (BYTES, b"\x00\xab", "00ab"),
        (IDENTITY, Identity(1), {"__identity__": "0x" + "0" * 63 + "1"}),
        (CONNECTION_ID, ConnectionId(5), {"__connection_id__": 5}),
        (TIMESTAMP, Timestamp(-1), {"__timestamp_micros_since_unix_epoch__": -1}),
        (TIME_DURATION, TimeDuration(7), {"__time_duration_micros__": 7}),
        (option(Primitive.STRING), None, {"none": []}),
        (option(Primitive.STRING), "x", {"some": "x"}),
        (
            SumType((SumVariant("A", UNIT), SumVariant("B", Primitive.U8))),
            Variant("B", 2),
            {"B": 2},
        ),
        (SumType((SumVariant(None, Primitive.U8),)), Variant("0", 2), [0, 2]),
        (ProductType((ProductElement(None, Primitive.U8),)), (1,), [1]),
    ],
)
def test_encoded_forms_match_what_the_server_reads(
    ty: AlgebraicType, value: object, wire: Any
) -> None:
    assert encode(ty, value, CTX) == wire
    assert decode(ty, wire, CTX) == value


@pytest.mark.parametrize(
    ("ty", "wire", "value"),
    [
        (option(Primitive.STRING), [1, {}], None),  # unit payload as the named row shape has it
        (option(Primitive.STRING), [1, []], None),
        (option(Primitive.STRING), None, None),
        (option(Primitive.STRING), [0, "a"], "a"),
        (option(Primitive.STRING), {"0": "a"}, "a"),  # tag as text
        (IDENTITY, ["0x" + "0" * 63 + "1"], Identity(1)),
        (Primitive.U256, 5, 5),
        (Primitive.U256, "255", 255),
        (BYTES, [1, 2], b"\x01\x02"),
        (Primitive.F64, None, math.inf),  # serde_json writes NaN and infinities as null
    ],
)
def test_decoding_accepts_every_shape_the_server_writes(
    ty: AlgebraicType, wire: Any, value: object
) -> None:
    decoded = decode(ty, wire, CTX)
    if isinstance(value, float):
        assert isinstance(decoded, float)
        assert math.isnan(decoded)
    else:
        assert decoded == value


POINT = ProductType((ProductElement("x", Primitive.I32), ProductElement("y", Primitive.I32)))


def shaped(ty: AlgebraicType, value: object, shape: int) -> object:
    """``value`` (products as Rows) with its products as dicts (shape 1) or tuples (shape 2):
    the shapes the compiled encoder takes itself."""
    concrete = CTX.typespace.resolve(ty)
    match concrete:
        case ArrayType() if concrete.element is not Primitive.U8:
            assert isinstance(value, tuple)
            return [shaped(concrete.element, item, shape) for item in value]
        case SumType() if concrete.option_of is not None:
            return None if value is None else shaped(concrete.option_of, value, shape)
        case ProductType() if concrete.special is None and not concrete.is_unit:
            assert isinstance(value, Row)
            fields = [shaped(e.type, value[str(e.name)], shape) for e in concrete.elements]
            if shape == 1:
                return dict(zip(value.field_names, fields, strict=True))
            return tuple(fields)
    return value


@given(
    types.flatmap(lambda ty: st.tuples(st.just(ty), values_of(ty))),
    st.sampled_from([0, 1, 2]),
)
def test_the_compiled_encoder_writes_what_encode_writes(
    case: tuple[AlgebraicType, object], shape: int
) -> None:
    ty, value = case
    value = shaped(ty, value, shape)
    assert encoder(ty, TypeContext())(value) == encode(ty, value, CTX)


@attrs.frozen
class Pair:
    y: int
    x: int


def test_the_compiled_encoder_takes_the_common_shapes_itself() -> None:
    ctx = TypeContext()
    fast = compiled_encoder(option(ArrayType(POINT)), ctx)
    expected = {"some": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}
    assert fast(({"x": 1, "y": 2}, Pair(4, 3))) == expected
    assert fast([[1, 2], Row(y=4, x=3)]) == expected
    assert fast(None) == {"none": []}
    assert compiled_encoder(option(ArrayType(POINT)), ctx) is fast  # built once
    stamp = compiled_encoder(TIMESTAMP, ctx)
    assert stamp(Timestamp(5)) == {SpecialKind.TIMESTAMP.value: 5}


class LaterStamp(Timestamp):
    """A Timestamp subclass: the compiled encoder hands it to `encode`."""


def test_the_compiled_encoder_hands_other_shapes_to_encode() -> None:
    point = encoder(POINT, TypeContext(), "point")
    for wrong in ({"x": 1}, {"x": 1, "z": 2}, {"x": 1, "y": 2, "z": 3}):
        with pytest.raises(ArgumentError, match=r"^point: fields do not match"):
            point(wrong)
    stamp = encoder(TIMESTAMP, TypeContext())
    assert stamp(LaterStamp(7)) == {SpecialKind.TIMESTAMP.value: 7}
    with pytest.raises(ArgumentError, match=r"expected Timestamp, got int"):
        stamp(7)


def test_the_compiled_encoder_follows_recursive_types() -> None:
    node = ProductType((ProductElement("n", Primitive.U8), ProductElement("next", option(Ref(0)))))
    ctx = TypeContext(Typespace((node,)))
    chain = {"n": 1, "next": {"n": 2, "next": None}}
    assert encoder(Ref(0), ctx)(chain) == encode(Ref(0), chain, ctx)
    assert encoder(Ref(0), ctx)(chain) == {
        "n": 1,
        "next": {"some": {"n": 2, "next": {"none": []}}},
    }
    with pytest.raises(ArgumentError, match=r"value\.next\?\.n: 256 is out of range for U8"):
        encoder(Ref(0), ctx)({"n": 1, "next": {"n": 256, "next": None}})


@pytest.mark.parametrize(
    ("ty", "value", "message"),
    [
        (Primitive.BOOL, 1, "expected bool, got int"),
        (Primitive.U8, 256, "256 is out of range for U8"),
        (Primitive.I8, True, r"expected an int \(I8\), got bool"),
        (Primitive.STRING, b"x", "expected str, got bytes"),
        (Primitive.STRING, "\ud800", "not valid Unicode"),
        (Primitive.F64, math.nan, "not a finite F64"),
        (Primitive.F32, 1e39, "not a finite F32"),
        (BYTES, "00", "expected bytes, got str"),
        (ArrayType(Primitive.U16), "ab", "expected a list or tuple"),
        (IDENTITY, "0x1", "expected Identity, got str"),
        (TIMESTAMP, Identity(1), "expected Timestamp, got Identity"),
        (POINT, {"x": 1}, "missing y"),
        (POINT, {"x": 1, "y": 2, "z": 3}, "unknown z"),
        (POINT, (1, 2, 3), "expected 2 fields"),
        (POINT, 5, "expected a mapping"),
        (UNIT, 5, r"expected \(\) for a unit value"),
        (SumType((SumVariant("A", UNIT),)), "B", "'B' is not a variant"),
        (SumType((SumVariant("A", UNIT),)), 3, "expected a Variant"),
        (option(POINT), {"x": "1", "y": 2}, r"value\?\.x: expected an int"),
    ],
)
def test_encoding_refuses_what_does_not_fit(ty: AlgebraicType, value: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        encode(ty, value, CTX)
    with pytest.raises(ArgumentError, match=message):
        encoder(ty, TypeContext())(value)


@pytest.mark.parametrize(
    ("ty", "wire", "message"),
    [
        (Primitive.BOOL, 1, "expected bool"),
        (Primitive.U32, "1", "expected an integer"),
        (Primitive.U256, "0xzz", "not a 256-bit integer"),
        (Primitive.STRING, 1, "expected a string"),
        (Primitive.F32, "1", "expected a number"),
        (BYTES, "zz", "not hex-encoded"),
        (BYTES, {}, "expected hex-encoded bytes"),
        (ArrayType(Primitive.U16), {}, "expected an array"),
        (POINT, {"x": 1}, "do not match"),
        (POINT, [1], "1 fields where"),
        (POINT, "x", "expected a product"),
        (option(Primitive.U8), [5, 1], "not a variant"),
        (option(Primitive.U8), [0, 1, 2], "expected a sum"),
        (option(Primitive.U8), [True, 1], "not a variant"),
        (IDENTITY, ["0x" + "f" * 65], "not a 256-bit integer"),
        (TIMESTAMP, [1.5], "expected an integer"),
    ],
)
def test_decoding_refuses_malformed_input(ty: AlgebraicType, wire: Any, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode(ty, wire, CTX)


@attrs.frozen
class Point:
    x: int
    y: int


class Color(enum.Enum):
    Red = 1
    Green = 2


COLOR = SumType((SumVariant("Red", UNIT), SumVariant("Green", UNIT)))


def registry_context() -> TypeContext:
    registry = TypeRegistry()
    registry.register("geo::Point", Point)
    registry.register("Color", Color)
    return TypeContext(Typespace((POINT, COLOR)), {0: "geo::Point", 1: "Color"}, registry)


def test_registered_classes_decode_and_encode() -> None:
    ctx = registry_context()
    assert decode(Ref(0), [1, 2], ctx) == Point(1, 2)
    assert decode(Ref(0), {"x": 1, "y": 2}, ctx) == Point(1, 2)
    assert decode(Ref(1), [1, []], ctx) is Color.Green
    assert encode(Ref(0), Point(1, 2), ctx) == {"x": 1, "y": 2}
    assert encode(Ref(1), Color.Red, ctx) == {"Red": []}
    assert encode(Ref(1), "Green", ctx) == {"Green": []}
    assert decode(Ref(0), [1, 2], TypeContext(ctx.typespace)) == Row(x=1, y=2)


def test_registry_refuses_unusable_classes() -> None:
    registry = TypeRegistry()

    @attrs.define
    class Mutable:
        x: int

    with pytest.raises(SchemaError, match="not hashable"):
        registry.register("Mutable", Mutable)
    with pytest.raises(SchemaError, match="attrs class or an enum"):
        registry.register("Plain", dict)


def test_registered_class_that_does_not_fit_the_type_is_a_schema_error() -> None:
    @attrs.frozen
    class Wrong:
        z: int

    class Shade(enum.Enum):
        Blue = 1

    registry = TypeRegistry()
    registry.register("P", Wrong)
    registry.register("C", Shade)
    data_sum = SumType((SumVariant("Red", Primitive.U8),))
    ctx = TypeContext(Typespace((POINT, COLOR, data_sum)), {0: "P", 1: "C", 2: "C"}, registry)
    with pytest.raises(SchemaError, match="cannot hold"):
        decode(Ref(0), [1, 2], ctx)
    with pytest.raises(SchemaError, match="has no member 'Red'"):
        decode(Ref(1), [0, []], ctx)
    with pytest.raises(SchemaError, match="carries data"):
        decode(Ref(2), [0, 5], ctx)


# --- the fast paths of the special products (Identity and ConnectionId remembered, Timestamp and
# TimeDuration built directly) against the general product path (the positional form ``[x]``)


def decoded_or_error(ty: AlgebraicType, wire: Any, ctx: TypeContext) -> object:
    """What decoding ``wire`` gives: the value, or the ProtocolError's text."""
    try:
        return decode(ty, wire, ctx)
    except ProtocolError as error:
        return f"ProtocolError: {error}"


SPECIAL_WIRES = st.one_of(
    st.integers(min_value=-(1 << 300), max_value=1 << 300),
    st.integers(min_value=0, max_value=(1 << 256) - 1).map(lambda n: f"0x{n:064x}"),
    st.integers(min_value=0, max_value=(1 << 128) - 1).map(lambda n: f"0x{n:032x}"),
    st.text(max_size=70),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)


@given(
    st.sampled_from([IDENTITY, CONNECTION_ID, TIMESTAMP, TIME_DURATION]),
    st.lists(SPECIAL_WIRES, min_size=1, max_size=8),
)
def test_special_fast_paths_decode_as_the_general_product_path(
    ty: AlgebraicType, inners: list[Any]
) -> None:
    ctx = TypeContext()
    special = ty.special if isinstance(ty, ProductType) else None
    assert special is not None
    for inner in [*inners, *inners]:  # the second time, a remembered value if any
        keyed = decoded_or_error(ty, {special.value: inner}, ctx)
        general = decoded_or_error(ty, [inner], TypeContext())
        assert keyed == general


def test_remembered_identities_stay_right_beyond_the_memory() -> None:
    ctx = TypeContext()
    numbers = [n * 0x1_0000_0001 for n in range(600)]  # more than a decoder remembers
    for _ in range(2):
        decoded = [decode(IDENTITY, {"__identity__": f"0x{n:064x}"}, ctx) for n in numbers]
        assert decoded == [Identity(n) for n in numbers]
    with pytest.raises(ProtocolError, match="not a 256-bit integer"):
        decode(IDENTITY, {"__identity__": "0x" + "f" * 65}, ctx)
    with pytest.raises(ProtocolError, match="not a 256-bit integer"):
        decode(IDENTITY, {"__identity__": "0x" + "f" * 65}, ctx)  # a refusal is not remembered


def test_a_timestamp_out_of_range_is_refused_on_the_fast_path_too() -> None:
    with pytest.raises(ProtocolError, match="micros_since_epoch must be an int"):
        decode(TIMESTAMP, {"__timestamp_micros_since_unix_epoch__": 1 << 63}, TypeContext())
    assert decode(TIMESTAMP, {"__timestamp_micros_since_unix_epoch__": -1}, CTX) == Timestamp(-1)
