"""BSATN values: round trips, agreement with SATS-JSON, the byte layout, and malformed input."""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
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
    bsatn,
    sats_json,
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
    SumVariant,
    option,
)
from nerv_inner_universe.client.typed import TypeContext
from tests.unit.client.sats_strategies import types, values_of

CTX = TypeContext()
POINT = ProductType((ProductElement("x", Primitive.I32), ProductElement("y", Primitive.I32)))
NOTE = ProductType(
    (ProductElement("by", IDENTITY), ProductElement("text", option(Primitive.STRING)))
)
"""Fields the generated reader reads in place."""
SHAPE = SumType((SumVariant("Empty", UNIT), SumVariant("Dot", Primitive.U8)))
DATA = SumType(
    (
        SumVariant("Dot", Primitive.U8),
        SumVariant("Text", Primitive.STRING),
        SumVariant("Empty", UNIT),
    )
)
"""A sum with a variant carrying a string, which a product's generated reader reads in place."""
LOGGED = ProductType((ProductElement("data", Ref(0)), ProductElement("n", Primitive.U8)))
LOGGED_CTX = TypeContext(Typespace((DATA,)))
cases = types.flatmap(lambda ty: st.tuples(st.just(ty), values_of(ty)))


@given(cases)
def test_round_trip_gives_the_value_sats_json_gives(case: tuple[AlgebraicType, object]) -> None:
    ty, value = case
    data = bsatn.encode(ty, value, CTX)
    assert bsatn.decode(ty, data, CTX) == value
    assert sats_json.decode(ty, sats_json.encode(ty, value, CTX), CTX) == value
    assert bsatn.decode(ty, data, TypeContext()) == bsatn.decode(ty, data, CTX)


@given(cases)
def test_every_strict_prefix_and_every_extension_is_refused(
    case: tuple[AlgebraicType, object],
) -> None:
    ty, value = case
    data = bsatn.encode(ty, value, CTX)
    for end in range(len(data)):
        with pytest.raises(ProtocolError, match=r"^value \(.*\): (truncated|.* is not)"):
            bsatn.decode(ty, data[:end], CTX)
    with pytest.raises(ProtocolError, match=r"1 trailing byte\(s\)"):
        bsatn.decode(ty, data + b"\0", CTX)


@given(types, st.binary(max_size=40))
def test_arbitrary_bytes_decode_or_raise_protocol_error(ty: AlgebraicType, data: bytes) -> None:
    try:
        value = bsatn.decode(ty, data, CTX)
    except ProtocolError:
        return
    assert bsatn.encode(ty, value, CTX) == data or isinstance(value, float)  # NaN bit patterns


ODD_VALUES = st.sampled_from(
    [None, True, 0, -1, 1 << 300, 1.5, float("nan"), "x", "\ud800", b"x", (), [1], {"x": 1}]
)


def outcome(encode: Callable[[], object]) -> object:
    """What ``encode`` returns, or the message of the ArgumentError it raises."""
    try:
        return encode()
    except ArgumentError as error:
        return f"ArgumentError: {error}"


@settings(suppress_health_check=[HealthCheck.too_slow])  # two types a case: slow on a busy machine
@given(types, st.one_of(ODD_VALUES, cases.map(lambda case: case[1])))
def test_accepts_and_refuses_exactly_what_sats_json_does(ty: AlgebraicType, value: object) -> None:
    json_outcome = outcome(
        lambda: sats_json.decode(ty, sats_json.encode(ty, value, CTX, "arg"), CTX)
    )
    bsatn_outcome = outcome(lambda: bsatn.decode(ty, bsatn.encode(ty, value, CTX, "arg"), CTX))
    assert bsatn_outcome == json_outcome


@pytest.mark.parametrize(
    ("ty", "value", "data"),
    [
        (Primitive.BOOL, True, "01"),
        (Primitive.I8, -2, "fe"),
        (Primitive.U16, 0x1234, "3412"),
        (Primitive.I32, -2, "feffffff"),
        (Primitive.U64, 1, "0100000000000000"),
        (Primitive.U128, 1 << 64, "00000000000000000100000000000000"),
        (Primitive.I128, -1, "ff" * 16),
        (Primitive.U256, 1, "01" + "00" * 31),
        (Primitive.I256, -2, "fe" + "ff" * 31),
        (Primitive.F32, 1.5, "0000c03f"),
        (Primitive.F64, -2.0, "00000000000000c0"),
        (Primitive.STRING, "hé", "03000000" + "68c3a9"),
        (BYTES, b"\x01\x02", "02000000" + "0102"),
        (ArrayType(Primitive.U16), (1, 2), "02000000" + "0100" + "0200"),
        (ArrayType(Primitive.STRING), (), "00000000"),
        (option(Primitive.U8), 7, "0007"),
        (option(Primitive.U8), None, "01"),
        (option(option(Primitive.U8)), 7, "000007"),
        (POINT, Row(x=1, y=-1), "01000000" + "ffffffff"),
        (SHAPE, Variant("Empty"), "00"),
        (SHAPE, Variant("Dot", 9), "0109"),
        (IDENTITY, Identity(0xAB << 248 | 1), "01" + "00" * 30 + "ab"),
        (CONNECTION_ID, ConnectionId(2), "02" + "00" * 15),
        (TIMESTAMP, Timestamp(-1), "ff" * 8),
        (TIME_DURATION, TimeDuration(256), "0001000000000000"),
        (UNIT, (), ""),
    ],
)
def test_the_byte_layout(ty: AlgebraicType, value: object, data: str) -> None:
    assert bsatn.encode(ty, value, CTX).hex() == data
    assert bsatn.decode(ty, bytes.fromhex(data), CTX) == value


@pytest.mark.parametrize(
    ("ty", "data", "message"),
    [
        (Primitive.BOOL, "02", r"^value \(Bool\): byte 0: 2 is not a bool"),
        (Primitive.U32, "010203", r"^value \(U32\): truncated \(3 bytes\)"),
        (Primitive.U128, "01" * 15, "truncated: U128 needs 16 bytes, there are 15"),
        (Primitive.STRING, "02000000ff00", "a string is not UTF-8"),
        (Primitive.STRING, "05000000abcd", "truncated: a string needs 9 bytes, there are 6"),
        (BYTES, "ffffffff00", "truncated: bytes needs"),
        (ArrayType(Primitive.U64), "ffffffff", "an array of 4294967295 elements, 0 bytes left"),
        (ArrayType(UNIT), "ffffffff", "an array of 4294967295 elements"),
        (option(Primitive.U8), "02", "byte 0: tag 2 is not a variant of Option<U8>"),
        (SHAPE, "0500", r"tag 5 is not a variant of enum\{Empty, Dot\}"),
        (POINT, "0100000002", "truncated"),
        (IDENTITY, "00" * 31, "truncated: Identity needs 32 bytes"),
        (NOTE, "00" * 32 + "02", r"byte 32: tag 2 is not a variant of Option<String>"),
        (NOTE, "00" * 32 + "0005000000ab", "truncated: a string needs 42 bytes, there are 38"),
        (NOTE, "01" + "00" * 30, "truncated: Identity needs 32 bytes, there are 31"),
        (Primitive.U8, "0102", r"1 trailing byte\(s\) after the value"),
        (Primitive.U8, "", "truncated"),
    ],
)
def test_malformed_input_is_a_protocol_error(ty: AlgebraicType, data: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        bsatn.decode(ty, bytes.fromhex(data), CTX)


@pytest.mark.parametrize(
    "value",
    [
        Row(data=Variant("Text", "héllo"), n=1),
        Row(data=Variant("Dot", 7), n=2),
        Row(data=Variant("Text", ""), n=3),
        Row(data=Variant("Empty", ()), n=4),
    ],
)
def test_a_sum_field_with_a_string_variant_reads_what_its_decoder_reads(value: Row) -> None:
    data = bsatn.encode(LOGGED, value, LOGGED_CTX)
    assert bsatn.decode(LOGGED, data, LOGGED_CTX) == value
    assert bsatn.decode(Ref(0), data[:-1], LOGGED_CTX) == value["data"]  # the sum's own decoder
    for end in range(len(data)):
        with pytest.raises(ProtocolError, match="truncated"):
            bsatn.decode(LOGGED, data[:end], LOGGED_CTX)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("0102000000ff0001", "a string is not UTF-8"),
        ("0105000000abcd", "truncated: a string needs 10 bytes, there are 7"),
        ("0301", r"byte 0: tag 3 is not a variant of enum\{Dot, Text, Empty\}"),
    ],
)
def test_a_sum_field_read_in_place_refuses_what_its_decoder_refuses(
    data: str, message: str
) -> None:
    with pytest.raises(ProtocolError, match=message):
        bsatn.decode(LOGGED, bytes.fromhex(data), LOGGED_CTX)


def test_an_array_of_units_up_to_the_limit_decodes() -> None:
    count = bsatn.MAX_EMPTY_ELEMENTS
    assert bsatn.decode(ArrayType(UNIT), struct.pack("<I", count), CTX) == ((),) * count


def test_encoding_accepts_the_shapes_sats_json_accepts() -> None:
    point_bytes = bsatn.encode(POINT, Row(x=1, y=2), CTX)
    for shape in ({"x": 1, "y": 2}, [1, 2], (1, 2), PointClass(1, 2)):
        assert bsatn.encode(POINT, shape, CTX) == point_bytes
    dot = bsatn.encode(SHAPE, Variant("Dot", 1), CTX)
    assert bsatn.encode(SHAPE, Variant("1", 1), CTX) == dot
    assert bsatn.encode(SHAPE, "Empty", CTX) == bsatn.encode(SHAPE, Variant("Empty"), CTX)
    assert bsatn.encode(BYTES, bytearray(b"ab"), CTX) == bsatn.encode(BYTES, b"ab", CTX)
    assert bsatn.encode(Primitive.F64, 2, CTX) == struct.pack("<d", 2.0)


class _Colour(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


class _Text(str):
    __slots__ = ()

    def __str__(self) -> str:  # what is sent is the string's own text, not this
        return "something else"


def test_str_and_int_subclasses_encode_as_their_plain_values_like_json() -> None:
    for ty, value, plain in (
        (Primitive.STRING, _Colour.RED, "red"),
        (Primitive.STRING, _Text("abc"), "abc"),
        (Primitive.I32, _Level.HIGH, 3),
        (POINT, {"x": _Level.HIGH, "y": 1}, Row(x=3, y=1)),
    ):
        assert bsatn.encode(ty, value, CTX) == bsatn.encode(ty, plain, CTX)
        assert sats_json.encode(ty, value, CTX) == sats_json.encode(ty, plain, CTX)


def test_an_encoder_that_fails_leaves_what_came_before() -> None:
    out = bytearray(b"kept")
    with pytest.raises(ArgumentError, match=r"^p\.y: 4294967296 is out of range for I32"):
        bsatn.encoder(POINT, CTX, "p")({"x": 1, "y": 1 << 32}, out)
    assert out == b"kept"


@attrs.frozen
class PointClass:
    x: int
    y: int


class Color(enum.Enum):
    Red = 1
    Green = 2


COLOR = SumType((SumVariant("Red", UNIT), SumVariant("Green", UNIT)))


def test_registered_classes_decode_and_encode() -> None:
    registry = TypeRegistry()
    registry.register("geo::Point", PointClass)
    registry.register("Color", Color)
    ctx = TypeContext(Typespace((POINT, COLOR)), {0: "geo::Point", 1: "Color"}, registry)
    pair = ProductType((ProductElement("at", Ref(0)), ProductElement("color", Ref(1))))
    data = bsatn.encode(pair, Row(at=PointClass(1, 2), color=Color.Green), ctx)
    assert data.hex() == "01000000" + "02000000" + "01"
    assert bsatn.decode(pair, data, ctx) == Row(at=PointClass(1, 2), color=Color.Green)
    plain = TypeContext(ctx.typespace, ctx.type_names)
    assert bsatn.decode(pair, data, plain) == Row(at=Row(x=1, y=2), color=Variant("Green"))


def test_a_registered_class_that_does_not_fit_is_a_schema_error() -> None:
    class Shade(enum.Enum):
        Blue = 1

    registry = TypeRegistry()
    registry.register("C", Shade)
    ctx = TypeContext(Typespace((COLOR,)), {0: "C"}, registry)
    with pytest.raises(SchemaError, match="has no member 'Red'"):
        bsatn.decode(Ref(0), b"\x00", ctx)


def test_recursive_types() -> None:
    node = ProductType((ProductElement("n", Primitive.U8), ProductElement("next", option(Ref(0)))))
    ctx = TypeContext(Typespace((node,)))
    value = Row(n=1, next=Row(n=2, next=None))
    data = bsatn.encode(Ref(0), value, ctx)
    assert data.hex() == "01" + "00" + "02" + "01"
    assert bsatn.decode(Ref(0), data, ctx) == value
    with pytest.raises(ArgumentError, match=r"value\.next\?\.n: 256 is out of range for U8"):
        bsatn.encode(Ref(0), {"n": 1, "next": {"n": 256, "next": None}}, ctx)
