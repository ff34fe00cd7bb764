"""Hypothesis strategies of SATS types and their Python values, for the value codecs' tests."""

from __future__ import annotations

from hypothesis import strategies as st

from nerv_inner_universe.client import (
    ArrayType,
    ConnectionId,
    Identity,
    Primitive,
    ProductType,
    Row,
    SumType,
    TimeDuration,
    Timestamp,
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

INT_RANGES = {
    Primitive.I8: 8,
    Primitive.U8: 8,
    Primitive.I16: 16,
    Primitive.U16: 16,
    Primitive.I32: 32,
    Primitive.U32: 32,
    Primitive.I64: 64,
    Primitive.U64: 64,
    Primitive.I128: 128,
    Primitive.U128: 128,
    Primitive.I256: 256,
    Primitive.U256: 256,
}


def int_bounds(ty: Primitive) -> tuple[int, int]:
    bits = INT_RANGES[ty]
    if ty.value.startswith("U"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
scalar_types = st.sampled_from(
    [*Primitive, BYTES, IDENTITY, CONNECTION_ID, TIMESTAMP, TIME_DURATION, UNIT]
)


def compound(children: st.SearchStrategy[AlgebraicType]) -> st.SearchStrategy[AlgebraicType]:
    fields = st.lists(st.tuples(names, children), min_size=1, max_size=4, unique_by=lambda f: f[0])
    return st.one_of(
        children.map(ArrayType),
        children.map(option),
        fields.map(lambda fs: ProductType(tuple(ProductElement(n, t) for n, t in fs))),
        fields.map(lambda fs: SumType(tuple(SumVariant(n.capitalize(), t) for n, t in fs))),
    )


types: st.SearchStrategy[AlgebraicType] = st.recursive(scalar_types, compound, max_leaves=8)


def values_of(ty: AlgebraicType) -> st.SearchStrategy[object]:  # noqa: PLR0911 - one per kind
    match ty:
        case Primitive.BOOL:
            return st.booleans()
        case Primitive.STRING:
            return st.text()
        case Primitive.F32:
            return st.floats(width=32, allow_nan=False, allow_infinity=False)
        case Primitive.F64:
            return st.floats(allow_nan=False, allow_infinity=False)
        case Primitive():
            return st.integers(*int_bounds(ty))
        case ArrayType() if ty.element is Primitive.U8:
            return st.binary(max_size=8)
        case ArrayType():
            return st.lists(values_of(ty.element), max_size=3).map(tuple)
        case SumType() if ty.option_of is not None:
            return st.none() | values_of(ty.option_of)
        case SumType():
            return st.sampled_from(ty.variants).flatmap(
                lambda v: values_of(v.type).map(lambda value: Variant(str(v.name), value))
            )
        case ProductType() if ty.special is not None:
            kind = ty.special
            return {
                SpecialKind.IDENTITY: st.integers(0, (1 << 256) - 1).map(Identity),
                SpecialKind.CONNECTION_ID: st.integers(0, (1 << 128) - 1).map(ConnectionId),
                SpecialKind.TIMESTAMP: st.integers(-(1 << 63), (1 << 63) - 1).map(Timestamp),
                SpecialKind.TIME_DURATION: st.integers(-(1 << 63), (1 << 63) - 1).map(TimeDuration),
            }[kind]
        case ProductType() if ty.is_unit:
            return st.just(())
        case ProductType():
            names_ = tuple(str(e.name) for e in ty.elements)
            return st.tuples(*(values_of(e.type) for e in ty.elements)).map(
                lambda values: Row.from_fields(names_, values)
            )
    raise AssertionError(ty)
