"""SATS-JSON: values to and from the JSON the server reads and writes, driven by their type.

The server writes two shapes (verified against 1.2.0): rows of transaction updates and of
``/sql`` are positional (a product is an array, ``Identity`` is ``["0x.."]``), rows of initial
subscriptions and one-off queries are keyed by field name (``{"__identity__": "0x.."}``); sums
inside rows are ``[tag, payload]`` with a unit payload of ``[]`` or ``{}``. Typed values
(message envelopes, the schema) use ``{"Variant": payload}`` and ``{"some": v}``/``{"none": []}``.
Decoding accepts every one of these; encoding writes the named forms, which the server reads.

Python side: bool, int (all widths, exact), float, str, ``bytes`` for ``Array<U8>``, tuples
for other arrays, ``Row`` (or a registered class) for products, ``None``/value for
``Option``, ``Variant`` (or a registered Enum) for other sums, and the value classes of
``values`` for Identity, ConnectionId, Timestamp and TimeDuration.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from nerv_inner_universe.shown import shown

from .algebraic import (
    AlgebraicType,
    ArrayType,
    Primitive,
    ProductType,
    SpecialKind,
    SumType,
    describe,
)
from .errors import ArgumentError, ProtocolError
from .numbers import ascii_int
from .typed import (
    F32_MAX,
    INT_RANGES,
    SPECIAL_CLASSES,
    TypeContext,
    Unusual,
    cached_decoder,
    fields_getter,
    kind_of,
    product_builder,
    remember,
    sum_builder,
    variant_tag,
)
from .values import ConnectionId, Identity, TimeDuration, Timestamp, Variant

Json = Any
"""A value as ``json.loads`` returns it / ``json.dumps`` accepts it."""


def dumps(value: Json) -> str:
    """``value`` as the JSON text the server reads: compact, UTF-8 characters as they are, no
    NaN or infinity (ValueError)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


_BIG_INT_DIGITS = {10: 78, 16: 64}
"""Digits of the widest integers (256 bits) in decimal and hex."""
_ENCODERS = "json-encoder"
_DECODERS = "json-decoder"
"""The kinds of compiled functions this codec keeps in a `TypeContext`."""

_kind = kind_of


# --- encoding ---------------------------------------------------------------------------

Encoder = Callable[[object], Json]
"""A value -> its SATS-JSON (see `encoder`)."""


def encoder(ty: AlgebraicType, ctx: TypeContext, path: str = "value") -> Encoder:
    """``encode(ty, value, ctx, path)`` as one function of ``value``, built once per type: the
    common shapes (exact bool, str, int, list, tuple, dict, attrs instances, Option,
    Identity...) take a path compiled from the type, which returns what `encode` returns; any
    other value goes through `encode` itself, which also words the error."""
    fast = compiled_encoder(ty, ctx)

    def run(value: object) -> Json:
        try:
            return fast(value)
        except Unusual:
            return encode(ty, value, ctx, path)

    return run


def compiled_encoder(ty: AlgebraicType, ctx: TypeContext) -> Encoder:
    """The compiled encoder of ``ty`` (cached in ``ctx``); raises `Unusual` for a value
    outside its common shapes. Recursive types go through a forwarding stub."""
    cache = ctx.compiled(_ENCODERS)
    found = cache.get(ty)
    if found is None:
        later: list[Encoder] = []

        def forward(value: object) -> Json:  # stands in while compiling (recursive types)
            if not later:  # another thread's call while this one compiles
                raise Unusual
            return later[0](value)

        cache[ty] = forward
        found = _compile(ctx.typespace.resolve(ty), ctx)
        later.append(found)
        cache[ty] = found
    return found


def _unusual(value: object) -> Json:
    raise Unusual


def _compile(ty: Primitive | ProductType | SumType | ArrayType, ctx: TypeContext) -> Encoder:
    if isinstance(ty, Primitive):
        return _compile_primitive(ty)
    if isinstance(ty, ArrayType):
        return _compile_array(ty, ctx)
    if isinstance(ty, SumType):
        return _compile_option(ty.option_of, ctx) if ty.option_of is not None else _unusual
    if ty.special is not None:
        return _compile_special(ty.special)
    return _compile_product(ty, ctx) if not ty.is_unit else _unusual


def _compile_array(ty: ArrayType, ctx: TypeContext) -> Encoder:
    if ctx.typespace.resolve(ty.element) == Primitive.U8:
        return _unusual
    element = compiled_encoder(ty.element, ctx)

    def array(value: object) -> Json:
        if isinstance(value, list | tuple):
            return [element(item) for item in value]
        raise Unusual

    return array


def _compile_option(some_type: AlgebraicType, ctx: TypeContext) -> Encoder:
    some = compiled_encoder(some_type, ctx)

    def optional(value: object) -> Json:
        return {"none": []} if value is None else {"some": some(value)}

    return optional


def _compile_primitive(ty: Primitive) -> Encoder:
    if ty is Primitive.BOOL:

        def boolean(value: object) -> Json:
            if isinstance(value, bool):
                return value
            raise Unusual

        return boolean
    if ty is Primitive.STRING:

        def string(value: object) -> Json:
            if not isinstance(value, str):
                raise Unusual
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise Unusual from None
            return value

        return string
    if ty in (Primitive.F32, Primitive.F64, Primitive.I256, Primitive.U256):
        return _unusual
    low, high = INT_RANGES[ty]

    def integer(value: object) -> Json:
        if type(value) is int and low <= value < high:
            return value
        raise Unusual

    return integer


def _compile_special(kind: SpecialKind) -> Encoder:
    cls, inner = _SPECIAL_WIRE[kind]
    key = kind.value

    def special(value: object) -> Json:
        if type(value) is cls:  # a subclass goes through `encode`
            return {key: inner(value)}
        raise Unusual

    return special


def _compile_product(ty: ProductType, ctx: TypeContext) -> Encoder:
    names = [element.name for element in ty.elements]
    encoders = [compiled_encoder(element.type, ctx) for element in ty.elements]
    named = [
        (name, encode) for name, encode in zip(names, encoders, strict=True) if name is not None
    ]
    positional = len(named) < len(names)
    fields_of = fields_getter(names)

    if positional:

        def product_list(value: object) -> Json:
            return [encode(field) for encode, field in zip(encoders, fields_of(value), strict=True)]

        return product_list

    def product(value: object) -> Json:
        fields = fields_of(value)
        return {name: encode(field) for (name, encode), field in zip(named, fields, strict=True)}

    return product


def encode(ty: AlgebraicType, value: object, ctx: TypeContext, path: str = "value") -> Json:
    """Python value -> SATS-JSON; raises ArgumentError (with the path) when it does not fit."""
    concrete, _ = ctx.resolve(ty)
    if isinstance(concrete, Primitive):
        return _encode_primitive(concrete, value, path)
    if isinstance(concrete, ArrayType):
        if ctx.typespace.resolve(concrete.element) == Primitive.U8:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise ArgumentError(f"{path}: expected bytes, got {_kind(value)}")
            return bytes(value).hex()
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ArgumentError(f"{path}: expected a list or tuple, got {_kind(value)}")
        return [encode(concrete.element, v, ctx, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(concrete, SumType):
        return _encode_sum(concrete, value, ctx, path)
    return _encode_product(concrete, value, ctx, path)


def _encode_primitive(ty: Primitive, value: object, path: str) -> Json:
    if ty is Primitive.BOOL:
        if not isinstance(value, bool):
            raise ArgumentError(f"{path}: expected bool, got {_kind(value)}")
        return value
    if ty is Primitive.STRING:
        if not isinstance(value, str):
            raise ArgumentError(f"{path}: expected str, got {_kind(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ArgumentError(f"{path}: the string is not valid Unicode ({error})") from None
        return value
    if ty in (Primitive.F32, Primitive.F64):
        return _encode_float(ty, value, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{path}: expected an int ({ty.value}), got {_kind(value)}")
    low, high = INT_RANGES[ty]
    if not low <= value < high:
        raise ArgumentError(f"{path}: {shown(value)} is out of range for {ty.value}")
    if ty is Primitive.U256:
        return f"{value:#x}"
    if ty is Primitive.I256:
        return f"-{-value:#x}" if value < 0 else f"{value:#x}"
    return int(value)


def _encode_float(ty: Primitive, value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentError(f"{path}: expected a float, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number) or (ty is Primitive.F32 and abs(number) > F32_MAX):
        raise ArgumentError(f"{path}: {shown(value)} is not a finite {ty.value} (JSON has no NaN)")
    return number


def _encode_sum(ty: SumType, value: object, ctx: TypeContext, path: str) -> Json:
    if ty.option_of is not None:
        if value is None:
            return {"none": []}
        return {"some": encode(ty.option_of, value, ctx, f"{path}?")}
    if isinstance(value, enum.Enum):
        value = Variant(value.name)
    elif isinstance(value, str):
        value = Variant(value)
    if not isinstance(value, Variant):
        raise ArgumentError(
            f"{path}: expected a Variant of {describe(ty)} (or a variant name), got {_kind(value)}"
        )
    if not isinstance(value.name, str):
        raise ArgumentError(f"{path}: a variant name must be a str, not {_kind(value.name)}")
    tag = variant_tag(ty, value.name)
    if tag is None:
        raise ArgumentError(f"{path}: {shown(value.name)} is not a variant of {describe(ty)}")
    variant = ty.variants[tag]
    payload = encode(variant.type, value.value, ctx, f"{path}.{value.name}")
    return {variant.name: payload} if variant.name is not None else [tag, payload]


def _encode_product(ty: ProductType, value: object, ctx: TypeContext, path: str) -> Json:
    if ty.special is not None:
        return _encode_special(ty.special, value, path)
    if ty.is_unit:
        if value not in ((), [], None):
            raise ArgumentError(f"{path}: expected () for a unit value, got {_kind(value)}")
        return []
    fields: Sequence[object]
    value_class = type(value)
    if isinstance(value, Mapping):
        fields = _fields_by_name(ty, value, path)
    elif attrs.has(value_class):
        by_name = {f.name: getattr(value, f.name) for f in attrs.fields(value_class)}
        fields = _fields_by_name(ty, by_name, path)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if len(value) != len(ty.elements):
            raise ArgumentError(
                f"{path}: expected {len(ty.elements)} fields of {describe(ty)}, got {len(value)}"
            )
        fields = value
    else:
        raise ArgumentError(
            f"{path}: expected a mapping, attrs instance or tuple, got {_kind(value)}"
        )
    encoded = [
        encode(element.type, field, ctx, f"{path}.{element.name or i}")
        for i, (element, field) in enumerate(zip(ty.elements, fields, strict=True))
    ]
    if any(element.name is None for element in ty.elements):
        return encoded
    return {element.name: item for element, item in zip(ty.elements, encoded, strict=True)}


def _fields_by_name(ty: ProductType, value: Mapping[Any, object], path: str) -> list[object]:
    names = [e.name for e in ty.elements]
    missing = [str(n) for n in names if n not in value]
    extra = [str(k) for k in value if k not in names]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"unknown {', '.join(extra)}"] if extra else []
    if problems:
        raise ArgumentError(f"{path}: fields do not match {describe(ty)}: {'; '.join(problems)}")
    return [value[n] for n in names]


_SPECIAL_WIRE: dict[SpecialKind, tuple[type, Callable[[Any], Json]]] = {
    SpecialKind.IDENTITY: (Identity, lambda value: f"0x{value.hex}"),
    SpecialKind.CONNECTION_ID: (ConnectionId, lambda value: value.value),
    SpecialKind.TIMESTAMP: (Timestamp, lambda value: value.micros_since_epoch),
    SpecialKind.TIME_DURATION: (TimeDuration, lambda value: value.micros),
}
"""Each special type's class and its wrapped value on the wire."""


def _encode_special(kind: SpecialKind, value: object, path: str) -> Json:
    cls, inner = _SPECIAL_WIRE[kind]
    if isinstance(value, cls):
        return {kind.value: inner(value)}
    raise ArgumentError(f"{path}: expected {kind.type_name}, got {_kind(value)}")


# --- decoding ---------------------------------------------------------------------------
#
# A type is compiled once per `TypeContext` into a function of the wire value: the type is not
# interpreted again per value, and the path of a value is only spelled out when it is wrong
# (`_Mismatch` collects it on the way up).

Decoder = Callable[[Json], object]
"""A compiled decoder: SATS-JSON -> Python value; raises `_Mismatch`."""


class _Mismatch(Exception):
    """A wire value does not fit its type: ``detail`` and the path below the decoded value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.where: list[str] = []
        """Path steps, innermost first."""


def decode(ty: AlgebraicType, wire: Json, ctx: TypeContext, path: str = "value") -> object:
    """SATS-JSON -> Python value; raises ProtocolError (with the path) on a mismatch."""
    try:
        return compiled_decoder(ty, ctx)(wire)
    except _Mismatch as mismatch:
        where = "".join(reversed(mismatch.where))
        raise ProtocolError(f"{path}{where}: {mismatch.detail}") from None


def _at(step: str, decoder: Decoder, wire: Json) -> object:
    """``decoder(wire)``, with ``step`` added to the path of a mismatch."""
    try:
        return decoder(wire)
    except _Mismatch as mismatch:
        mismatch.where.append(step)
        raise


def compiled_decoder(ty: AlgebraicType, ctx: TypeContext) -> Decoder:
    """``ty``'s decoder, compiled on first use and kept in ``ctx`` (raises `_Mismatch`: use
    `decode`)."""
    return cached_decoder(
        ty,
        ctx,
        _DECODERS,
        lambda concrete, cls: _compile_concrete_decoder(concrete, ctx, cls),
        _via,
    )


def _via(select: Callable[[], Decoder]) -> Decoder:
    def decode_ref(wire: Json) -> object:
        return select()(wire)

    return decode_ref


def _compile_concrete_decoder(
    ty: Primitive | ProductType | SumType | ArrayType, ctx: TypeContext, cls: type | None
) -> Decoder:
    if isinstance(ty, Primitive):
        return _primitive_decoder(ty)
    if isinstance(ty, ArrayType):
        return _array_decoder(ty, ctx)
    if isinstance(ty, SumType):
        return _sum_decoder(ty, ctx, cls)
    return _product_decoder(ty, ctx, cls)


def _primitive_decoder(ty: Primitive) -> Decoder:
    if ty is Primitive.BOOL:
        return _decode_bool
    if ty is Primitive.STRING:
        return _decode_string
    if ty in (Primitive.F32, Primitive.F64):
        return _decode_float
    big = ty in (Primitive.U256, Primitive.I256, Primitive.U128, Primitive.I128)
    expected = f"expected an integer ({ty.value}), got "

    def decode_int(wire: Json) -> object:
        if type(wire) is int:
            return wire
        if big and isinstance(wire, str):
            return _parse_big_int(wire)
        if isinstance(wire, bool) or not isinstance(wire, int):
            raise _Mismatch(expected + _kind(wire))
        return wire

    return decode_int


def _decode_bool(wire: Json) -> object:
    if not isinstance(wire, bool):
        raise _Mismatch(f"expected bool, got {_kind(wire)}")
    return wire


def _decode_string(wire: Json) -> object:
    if not isinstance(wire, str):
        raise _Mismatch(f"expected a string, got {_kind(wire)}")
    return wire


def _decode_float(wire: Json) -> object:
    if wire is None:  # serde_json writes non-finite floats as null
        return math.nan
    if isinstance(wire, bool) or not isinstance(wire, int | float):
        raise _Mismatch(f"expected a number, got {_kind(wire)}")
    return float(wire)


def _parse_big_int(text: str) -> int:
    """256-bit integers travel as ``"0x.."`` or ``"-0x.."`` text; decimal text is accepted too
    (ASCII digits only, at most as many as 256 bits need)."""
    negative = text.startswith("-")
    body = text[1:] if negative else text
    base = 16 if body[:2].lower() == "0x" else 10
    number = ascii_int(body[2:] if base == 16 else body, _BIG_INT_DIGITS[base], base)
    if number is None:
        raise _Mismatch(f"{shown(text)} is not a 256-bit integer")
    return -number if negative else number


def _decode_bytes(wire: Json) -> object:
    if isinstance(wire, str):
        try:
            return bytes.fromhex(wire)
        except ValueError:
            raise _Mismatch(f"{wire[:40]!r} is not hex-encoded bytes") from None
    if isinstance(wire, list) and all(isinstance(b, int) and 0 <= b < 256 for b in wire):
        return bytes(wire)
    raise _Mismatch(f"expected hex-encoded bytes, got {_kind(wire)}")


def _array_decoder(ty: ArrayType, ctx: TypeContext) -> Decoder:
    if ctx.typespace.resolve(ty.element) == Primitive.U8:
        return _decode_bytes
    element = compiled_decoder(ty.element, ctx)

    def decode_array(wire: Json) -> object:
        if not isinstance(wire, list):
            raise _Mismatch(f"expected an array, got {_kind(wire)}")
        try:
            return tuple(map(element, wire))
        except _Mismatch:  # find the failing element again for its index
            for i, w in enumerate(wire):
                _at(f"[{i}]", element, w)
            raise

    return decode_array


def _sum_decoder(ty: SumType, ctx: TypeContext, cls: type | None) -> Decoder:
    steps = [f".{v.name if v.name is not None else i}" for i, v in enumerate(ty.variants)]
    payloads = [compiled_decoder(v.type, ctx) for v in ty.variants]
    is_option = ty.option_of is not None
    build = sum_builder(ty, cls)
    tags: dict[int | str, int] = {i: i for i in range(len(ty.variants))}
    for i, variant in reversed(list(enumerate(ty.variants))):  # the first of a name wins
        if variant.name is not None:
            tags[variant.name] = i
    """The usual keys (a tag, a variant's name) and their tag; `variant_tag` reads the rest."""

    def decode_sum(wire: Json) -> object:
        if wire is None and is_option:
            return None
        if isinstance(wire, list) and len(wire) == 2:
            key, payload = wire
        elif isinstance(wire, Mapping) and len(wire) == 1:
            ((key, payload),) = wire.items()
        else:
            raise _Mismatch(f"expected a sum ({describe(ty)}), got {shown(wire)}")
        tag = tags.get(key) if type(key) is int or type(key) is str else None
        if tag is None:
            tag = variant_tag(ty, key)
            if tag is None:
                raise _Mismatch(f"{shown(key)} is not a variant of {describe(ty)}")
        try:
            value = payloads[tag](payload)
        except _Mismatch as mismatch:  # `_at`, without its call on the way down
            mismatch.where.append(steps[tag])
            raise
        return build(tag, value)

    return decode_sum


def _product_decoder(ty: ProductType, ctx: TypeContext, cls: type | None) -> Decoder:
    elements = ty.elements
    names = tuple(e.name for e in elements)
    name_set = frozenset(names)
    decoders = tuple(compiled_decoder(e.type, ctx) for e in elements)
    steps = tuple(f".{e.name or i}" for i, e in enumerate(elements))
    fields = tuple(zip(names, decoders, strict=True))
    special = ty.special
    build: Callable[[tuple[object, ...]], object] = (
        product_builder(ty, cls)
        if special is None
        else lambda values: _decode_special(special, values[0])
    )

    def decode_product(wire: Json) -> object:
        if (
            (type(wire) is dict or isinstance(wire, Mapping))
            and len(wire) == len(names)
            and wire.keys() == name_set
        ):
            try:
                values = tuple([decoder(wire[name]) for name, decoder in fields])
            except _Mismatch:
                values = _again(steps, decoders, [wire[n] for n in names])
        elif isinstance(wire, list) and len(wire) == len(elements):
            try:
                values = tuple([decoder(w) for decoder, w in zip(decoders, wire, strict=True)])
            except _Mismatch:
                values = _again(steps, decoders, wire)
        elif isinstance(wire, Mapping):
            raise _Mismatch(
                f"fields {sorted(wire)} do not match {describe(ty)}"
                + (" (a unit value)" if not elements else "")
            )
        elif isinstance(wire, list):
            raise _Mismatch(f"{len(wire)} fields where {describe(ty)} has {len(elements)}")
        else:
            raise _Mismatch(f"expected a product ({describe(ty)}), got {_kind(wire)}")
        return build(values)

    if special is not None:
        return _special_decoder(special, decode_product)
    return decode_product


def _special_decoder(kind: SpecialKind, general: Decoder) -> Decoder:
    """A special product's decoder with a fast path for its usual wire form ``{"<tag>": x}``:
    an Identity or ConnectionId is decoded by ``general`` once per wire value and remembered
    (they are immutable), a Timestamp or TimeDuration is built from its integer directly.
    Every other form, and every value that does not fit, takes ``general``, which decodes it
    or raises the mismatch."""
    tag = kind.value
    if kind in (SpecialKind.IDENTITY, SpecialKind.CONNECTION_ID):
        known: dict[str | int, object] = {}

        def decode_known(wire: Json) -> object:
            if type(wire) is dict and len(wire) == 1:
                inner = wire.get(tag)
                if type(inner) is str or type(inner) is int:
                    value = known.get(inner)
                    if value is None:
                        value = remember(known, inner, general(wire))
                    return value
            return general(wire)

        return decode_known
    make = Timestamp if kind is SpecialKind.TIMESTAMP else TimeDuration

    def decode_micros(wire: Json) -> object:
        if type(wire) is dict and len(wire) == 1:
            inner = wire.get(tag)
            if type(inner) is int:
                try:
                    return make(inner)
                except ValueError:
                    pass  # out of range: ``general`` raises it as a mismatch
        return general(wire)

    return decode_micros


def _again(steps: Sequence[str], decoders: Sequence[Decoder], items: Sequence[Json]) -> Any:
    """Decodes a product's fields one by one, naming the one that does not fit (never returns:
    called after a field failed)."""
    for step, decoder, item in zip(steps, decoders, items, strict=True):
        _at(step, decoder, item)
    raise AssertionError("a field that failed once decoded the second time")  # pragma: no cover


def _decode_special(kind: SpecialKind, inner: object) -> object:
    if not isinstance(inner, int):
        raise _Mismatch(f"{kind.type_name} needs an integer, got {_kind(inner)}")
    try:
        return SPECIAL_CLASSES[kind](inner)
    except ValueError as error:
        raise _Mismatch(str(error)) from None
