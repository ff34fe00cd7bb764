"""BSATN: values to and from SpacetimeDB's binary encoding, driven by their type.

The layout (verified against ``spacetimedb-sats`` 1.2.0 ``bsatn``): integers little-endian in
their width (``u8`` .. ``u256``, two's complement when signed), ``f32``/``f64`` IEEE 754
little-endian, ``bool`` one byte 0 or 1, ``String`` a ``u32`` byte length and UTF-8,
``Array<T>`` a ``u32`` count and the elements (``Array<U8>``: the bytes), a product its fields
in order with nothing between them, a sum a ``u8`` tag and the variant's payload
(``Option<T>``: ``some`` is 0, ``none`` is 1). Identity is its ``u256``, ConnectionId its
``u128``, Timestamp and TimeDuration their ``i64`` microseconds.

Python side: exactly `sats_json`'s (see `typed`): the same values are accepted and decoding
gives the same values, so either codec can stand behind `DbConnection`. Like `sats_json`, a
float must be finite to be encoded.

A type is compiled once per `TypeContext` (cached there) into a decoder
``decode(buf, pos) -> (value, next_pos)`` and an encoder ``encode(value, out)`` appending to a
``bytearray``. `decode` reads one whole value and raises ProtocolError when the bytes are not
one (truncated, trailing bytes, a bad tag, bool or UTF-8); `encoder` raises ArgumentError,
worded as `sats_json` words it, for a value that does not fit its type.
"""

from __future__ import annotations

import enum
import json
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

from nerv_inner_universe.shown import shown

from . import sats_json
from .algebraic import (
    AlgebraicType,
    ArrayType,
    Primitive,
    ProductType,
    Ref,
    SpecialKind,
    SumType,
    describe,
)
from .errors import ArgumentError, ProtocolError
from .typed import (
    F32_MAX,
    INT_RANGES,
    SPECIAL_ATTRIBUTES,
    SPECIAL_CLASSES,
    TypeContext,
    Unusual,
    cached_decoder,
    fields_getter,
    product_builder,
    remember,
    special_integer,
    sum_builder,
    trusted_special,
    variant_tags,
)
from .values import ConnectionId, Identity, Variant

Decoder = Callable[[bytes, int], tuple[Any, int]]
"""``decode(buf, pos) -> (value, pos after it)``; raises `Malformed`, ``struct.error``,
IndexError or UnicodeDecodeError on bad input (`decode` and `run` turn them into
ProtocolError)."""
Encoder = Callable[[object, bytearray], None]
"""``encode(value, out)`` appends the value's bytes to ``out``; a compiled one raises `Unusual`
for a value outside its common shapes (`encoder` handles every value)."""

_ENCODERS = "bsatn-encoder"
_DECODERS = "bsatn-decoder"
_FIELDS = "bsatn-fields"
"""The kinds of compiled functions this codec keeps in a `TypeContext`."""

U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
I64 = struct.Struct("<q")
_FIXED = {
    Primitive.I8: struct.Struct("<b"),
    Primitive.U8: U8,
    Primitive.I16: struct.Struct("<h"),
    Primitive.U16: U16,
    Primitive.I32: struct.Struct("<i"),
    Primitive.U32: U32,
    Primitive.I64: I64,
    Primitive.U64: U64,
    Primitive.F32: struct.Struct("<f"),
    Primitive.F64: struct.Struct("<d"),
}
"""The primitives ``struct`` reads and writes in one step."""
_WIDE = {
    Primitive.I128: (16, True),
    Primitive.U128: (16, False),
    Primitive.I256: (32, True),
    Primitive.U256: (32, False),
}
"""The wider integers: their bytes and signedness."""
MAX_EMPTY_ELEMENTS = 1 << 16
"""The most elements an array of zero-byte values (units) may claim: any other array claiming
more elements than it has bytes left is refused, so a hostile count allocates nothing."""


class Malformed(Exception):
    """The bytes are not a value of the type being read: ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def truncated(what: str, end: int, buf: bytes) -> Malformed:
    """The error for ``what`` ending at byte ``end`` of a ``buf`` that is shorter."""
    return Malformed(f"truncated: {what} needs {end} bytes, there are {len(buf)}")


# --- decoding ---------------------------------------------------------------------------


def decode(ty: AlgebraicType, data: bytes, ctx: TypeContext, path: str = "value") -> object:
    """All of ``data`` as one value of ``ty``; ProtocolError (naming ``path``) when it is not
    exactly one."""
    return run(compiled_decoder(ty, ctx), data, path, ty)


def run(
    decoder: Decoder,
    data: bytes,
    what: str,
    ty: AlgebraicType | None = None,
    *,
    prefix: bool = False,
) -> Any:
    """``decoder`` over all of ``data`` (with ``prefix``, over its start: bytes may follow);
    ProtocolError naming ``what`` (and ``ty``) when the bytes are malformed or are more than
    one value."""
    try:
        value, end = decoder(data, 0)
        if prefix or end == len(data):
            return value
        problem = f"{len(data) - end} trailing byte(s) after the value"
    except Malformed as error:
        problem = error.detail
    except (struct.error, IndexError):
        problem = f"truncated ({len(data)} bytes)"
    except UnicodeDecodeError as error:
        problem = f"a string is not UTF-8 ({error.reason})"
    where = what if ty is None else f"{what} ({describe(ty)})"
    raise ProtocolError(f"{where}: {problem}")


def compiled_decoder(ty: AlgebraicType, ctx: TypeContext) -> Decoder:
    """``ty``'s decoder, compiled on first use and kept in ``ctx``."""
    return cached_decoder(
        ty, ctx, _DECODERS, lambda concrete, cls: _concrete_decoder(concrete, ctx, cls), _via
    )


def _via(select: Callable[[], Decoder]) -> Decoder:
    def decode_ref(buf: bytes, pos: int) -> tuple[Any, int]:
        return select()(buf, pos)

    return decode_ref


def _concrete_decoder(
    ty: Primitive | ProductType | SumType | ArrayType, ctx: TypeContext, cls: type | None
) -> Decoder:
    if isinstance(ty, Primitive):
        return _primitive_decoder(ty)
    if isinstance(ty, ArrayType):
        return _array_decoder(ty, ctx)
    if isinstance(ty, SumType):
        return _sum_decoder(ty, ctx, cls)
    if ty.special is not None:
        return _special_decoder(ty.special)
    fields = fields_decoder(ty, ctx)
    build = product_builder(ty, cls)

    def decode_product(buf: bytes, pos: int) -> tuple[Any, int]:
        values, pos = fields(buf, pos)
        return build(values), pos

    return decode_product


def fields_decoder(ty: ProductType, ctx: TypeContext) -> Decoder:
    """A product's fields as a tuple of their values (not built into a `Row`).

    The function is generated for the product (like attrs generates ``__init__``): one
    statement per field, fixed-width integers and floats, strings and timestamps read in place,
    every other field by its compiled decoder; no loop, no call per simple field. Kept in
    ``ctx``."""
    cache = ctx.compiled(_FIELDS)
    found: Decoder | None = cache.get(ty)
    if found is None:
        found = cache[ty] = _generated_fields_decoder(ty, ctx)
    return found


def _generated_fields_decoder(ty: ProductType, ctx: TypeContext) -> Decoder:
    names: dict[str, object] = {"_truncated": truncated}
    lines = ["def decode_fields(buf, pos):"]
    for i, element in enumerate(ty.elements):
        lines += _field_lines(i, element.type, ctx, names)
    values = "".join(f"v{i}, " for i in range(len(ty.elements)))
    lines.append(f"    return ({values}), pos")
    exec("\n".join(lines), names)  # noqa: S102 - the text is built here from the type alone
    decode_fields: Decoder = names["decode_fields"]  # type: ignore[assignment]
    return decode_fields


def _field_lines(  # noqa: PLR0911 - one answer per kind of field
    i: int, ty: AlgebraicType, ctx: TypeContext, names: dict[str, object]
) -> list[str]:
    """The statements reading field ``i`` into ``v{i}`` and moving ``pos`` past it."""
    concrete = ty if not isinstance(ty, Ref) or ctx.registry is None else None
    resolved = ctx.typespace.resolve(concrete) if concrete is not None else None
    fixed = _FIXED.get(resolved) if isinstance(resolved, Primitive) else None
    if fixed is not None:
        names[f"unpack{i}"] = fixed.unpack_from
        return [f"    v{i} = unpack{i}(buf, pos)[0]", f"    pos += {fixed.size}"]
    if resolved is Primitive.STRING:
        names["unpack_u32"] = U32.unpack_from
        return [
            "    end = pos + 4 + unpack_u32(buf, pos)[0]",
            "    if end > len(buf):",
            "        raise _truncated('a string', end, buf)",
            f"    v{i} = buf[pos + 4:end].decode()",
            "    pos = end",
        ]
    special = resolved.special if isinstance(resolved, ProductType) else None
    if special is SpecialKind.TIMESTAMP or special is SpecialKind.TIME_DURATION:
        names["unpack_i64"] = I64.unpack_from
        names[f"make{i}"] = trusted_special(special)
        return [f"    v{i} = make{i}(unpack_i64(buf, pos)[0])", "    pos += 8"]
    if isinstance(resolved, SumType) and concrete is not None and resolved.option_of is None:
        return _sum_field_lines(i, resolved, ctx, names)
    names[f"decode{i}"] = compiled_decoder(ty, ctx)
    if special is not None:  # Identity, ConnectionId: remembered by their bytes
        width, names[f"known{i}"], names[f"new{i}"] = _known_ids(special)
        return [
            f"    end = pos + {width}",
            "    key = buf[pos:end]",
            f"    v{i} = known{i}.get(key)",
            f"    if v{i} is None:",
            f"        v{i} = new{i}(buf, end, key)",
            "    pos = end",
        ]
    if isinstance(resolved, SumType) and resolved.option_of == Primitive.STRING:
        names["unpack_u32"] = U32.unpack_from
        return [  # a bad tag or string: the compiled decoder raises it
            "    tag = buf[pos]",
            "    if tag == 1:",
            f"        v{i} = None",
            "        pos += 1",
            "    elif tag == 0 and (end := pos + 5 + unpack_u32(buf, pos + 1)[0]) <= len(buf):",
            f"        v{i} = buf[pos + 5:end].decode()",
            "        pos = end",
            "    else:",
            f"        v{i}, pos = decode{i}(buf, pos)",
        ]
    return [f"    v{i}, pos = decode{i}(buf, pos)"]


def _sum_field_lines(i: int, ty: SumType, ctx: TypeContext, names: dict[str, object]) -> list[str]:
    """The statements reading field ``i``, a sum (not an ``Option``) that no registered class
    stands for: a variant carrying a string is read in place (an event's ``Custom`` data, for
    one), any other by the sum's compiled decoder (which also raises for a bad tag or a
    string that is cut short or not UTF-8)."""
    names[f"decode{i}"] = compiled_decoder(ty, ctx)
    strings = frozenset(
        tag
        for tag, variant in enumerate(ty.variants)
        if ctx.typespace.resolve(variant.type) is Primitive.STRING
    )
    if not strings:
        return [f"    v{i}, pos = decode{i}(buf, pos)"]
    names["unpack_u32"] = U32.unpack_from
    names[f"strings{i}"], names[f"build{i}"] = strings, sum_builder(ty, None)
    return [
        "    tag = buf[pos]",
        f"    if tag in strings{i} and (end := pos + 5 + unpack_u32(buf, pos + 1)[0]) <= len(buf):",
        f"        v{i} = build{i}(tag, buf[pos + 5:end].decode())",
        "        pos = end",
        "    else:",
        f"        v{i}, pos = decode{i}(buf, pos)",
    ]


def _primitive_decoder(ty: Primitive) -> Decoder:
    if ty is Primitive.BOOL:
        return _decode_bool
    if ty is Primitive.STRING:
        return decode_string
    fixed = _FIXED.get(ty)
    if fixed is not None:
        unpack, size = fixed.unpack_from, fixed.size

        def decode_fixed(buf: bytes, pos: int) -> tuple[Any, int]:
            return unpack(buf, pos)[0], pos + size

        return decode_fixed
    width, signed = _WIDE[ty]

    def decode_wide(buf: bytes, pos: int) -> tuple[Any, int]:
        end = pos + width
        if end > len(buf):
            raise truncated(ty.value, end, buf)
        return int.from_bytes(buf[pos:end], "little", signed=signed), end

    return decode_wide


def _decode_bool(buf: bytes, pos: int) -> tuple[Any, int]:
    byte = buf[pos]
    if byte > 1:
        raise Malformed(f"byte {pos}: {byte} is not a bool (0 or 1)")
    return byte == 1, pos + 1


def decode_string(buf: bytes, pos: int) -> tuple[Any, int]:
    """A ``String``: its ``u32`` byte length, then UTF-8."""
    start = pos + 4
    end = start + U32.unpack_from(buf, pos)[0]
    if end > len(buf):
        raise truncated("a string", end, buf)
    return buf[start:end].decode(), end


def decode_bytes(buf: bytes, pos: int) -> tuple[Any, int]:
    """An ``Array<U8>``: its ``u32`` length, then the bytes."""
    start = pos + 4
    end = start + U32.unpack_from(buf, pos)[0]
    if end > len(buf):
        raise truncated("bytes", end, buf)
    return buf[start:end], end


def _array_decoder(ty: ArrayType, ctx: TypeContext) -> Decoder:
    if ctx.typespace.resolve(ty.element) == Primitive.U8:
        return decode_bytes
    element = compiled_decoder(ty.element, ctx)
    sized = _has_bytes(ty.element, ctx, set())

    def decode_array(buf: bytes, pos: int) -> tuple[Any, int]:
        count = U32.unpack_from(buf, pos)[0]
        pos += 4
        if count > (len(buf) - pos if sized else MAX_EMPTY_ELEMENTS):
            raise Malformed(
                f"truncated: byte {pos - 4}: an array of {count} elements, "
                f"{len(buf) - pos} bytes left"
            )
        items: list[object] = []
        append = items.append
        for _ in range(count):
            item, pos = element(buf, pos)
            append(item)
        return tuple(items), pos

    return decode_array


def _has_bytes(ty: AlgebraicType, ctx: TypeContext, seen: set[int]) -> bool:
    """Whether every value of ``ty`` takes at least one byte (a unit takes none)."""
    if isinstance(ty, Ref):
        if ty.index in seen:
            return True  # a cycle goes through an array or a sum, which take bytes
        seen.add(ty.index)
    concrete = ctx.typespace.resolve(ty)
    if isinstance(concrete, ProductType):
        return any(_has_bytes(e.type, ctx, seen) for e in concrete.elements)
    return True


def _sum_decoder(ty: SumType, ctx: TypeContext, cls: type | None) -> Decoder:
    payloads = tuple(compiled_decoder(v.type, ctx) for v in ty.variants)
    count = len(payloads)
    if ty.option_of is not None:
        some = payloads[0]

        def decode_option(buf: bytes, pos: int) -> tuple[Any, int]:
            tag = buf[pos]
            if tag == 0:
                return some(buf, pos + 1)
            if tag == 1:
                return None, pos + 1
            raise Malformed(f"byte {pos}: tag {tag} is not a variant of {describe(ty)}")

        return decode_option
    build = sum_builder(ty, cls)

    def decode_sum(buf: bytes, pos: int) -> tuple[Any, int]:
        tag = buf[pos]
        if tag >= count:
            raise Malformed(f"byte {pos}: tag {tag} is not a variant of {describe(ty)}")
        value, pos = payloads[tag](buf, pos + 1)
        return build(tag, value), pos

    return decode_sum


def _special_decoder(kind: SpecialKind) -> Decoder:
    """Identity and ConnectionId are remembered by their bytes (they are immutable); Timestamp
    and TimeDuration are built from their ``i64``."""
    if kind is SpecialKind.TIMESTAMP or kind is SpecialKind.TIME_DURATION:
        make = trusted_special(kind)
        unpack = I64.unpack_from

        def decode_micros(buf: bytes, pos: int) -> tuple[Any, int]:
            return make(unpack(buf, pos)[0]), pos + 8

        return decode_micros
    width, known, new = _known_ids(kind)

    def decode_known(buf: bytes, pos: int) -> tuple[Any, int]:
        end = pos + width
        key = buf[pos:end]
        value = known.get(key)
        if value is None:
            value = new(buf, end, key)
        return value, end

    return decode_known


def _known_ids(
    kind: SpecialKind,
) -> tuple[int, dict[bytes, object], Callable[[bytes, int, bytes], object]]:
    """An Identity's or ConnectionId's width, the values remembered by their bytes, and
    ``new(buf, end, key)`` building (and remembering) the one whose bytes ``key`` end at
    ``end``."""
    width, make = (32, Identity) if kind is SpecialKind.IDENTITY else (16, ConnectionId)
    known: dict[bytes, object] = {}

    def new(buf: bytes, end: int, key: bytes) -> object:
        if end > len(buf):
            raise truncated(kind.type_name, end, buf)
        return remember(known, key, make(int.from_bytes(key, "little")))

    return width, known, new


# --- encoding ---------------------------------------------------------------------------


def encode(ty: AlgebraicType, value: object, ctx: TypeContext, path: str = "value") -> bytes:
    """``value`` as the BSATN of ``ty``; ArgumentError (naming ``path``) when it does not
    fit."""
    out = bytearray()
    encoder(ty, ctx, path)(value, out)
    return bytes(out)


def encoder(ty: AlgebraicType, ctx: TypeContext, path: str = "value") -> Encoder:
    """An encoder of every value of ``ty``: the common shapes take the compiled path; any other
    value is checked and normalised by `sats_json` (which words the ArgumentError, naming
    ``path``, when it does not fit) through the JSON text `JsonCodec` would send, so both codecs
    take the same values (a ``str`` or ``int`` subclass such as an ``enum.StrEnum`` member
    becomes the plain value), and then written."""
    fast = compiled_encoder(ty, ctx)

    def encode_any(value: object, out: bytearray) -> None:
        mark = len(out)
        try:
            fast(value, out)
        except Unusual:
            del out[mark:]
        else:
            return
        text = sats_json.dumps(sats_json.encode(ty, value, ctx, path))
        normal = sats_json.decode(ty, json.loads(text), ctx, path)
        try:
            fast(normal, out)
        except Unusual:  # pragma: no cover - `sats_json` gives the shapes `fast` takes
            del out[mark:]
            raise ArgumentError(f"{path}: {shown(value)} does not fit {describe(ty)}") from None

    return encode_any


def compiled_encoder(ty: AlgebraicType, ctx: TypeContext) -> Encoder:
    """The compiled encoder of ``ty`` (kept in ``ctx``); raises `Unusual` for a value outside
    its common shapes. A ref compiles on first use (so recursive types work)."""
    cache = ctx.compiled(_ENCODERS)
    found: Encoder | None = cache.get(ty)
    if found is None:
        if isinstance(ty, Ref):
            ref = ty
            compiled: list[Encoder] = []

            def encode_ref(value: object, out: bytearray) -> None:
                if not compiled:
                    compiled.append(_concrete_encoder(ctx.typespace.resolve(ref), ctx))
                compiled[0](value, out)

            found = encode_ref
        else:
            found = _concrete_encoder(ty, ctx)
        cache[ty] = found
    return found


def _unusual(value: object, out: bytearray) -> None:
    raise Unusual


def _concrete_encoder(
    ty: Primitive | ProductType | SumType | ArrayType, ctx: TypeContext
) -> Encoder:
    if isinstance(ty, Primitive):
        return _primitive_encoder(ty)
    if isinstance(ty, ArrayType):
        return _array_encoder(ty, ctx)
    if isinstance(ty, SumType):
        return _sum_encoder(ty, ctx)
    if ty.special is not None:
        return _special_encoder(ty.special)
    if ty.is_unit:
        return _encode_unit
    encode_fields = _generated_fields_encoder(ty, ctx)
    fields_of = fields_getter(ty.field_names)

    def encode_product(value: object, out: bytearray) -> None:
        encode_fields(fields_of(value), out)

    return encode_product


def _generated_fields_encoder(
    ty: ProductType, ctx: TypeContext
) -> Callable[[Sequence[object], bytearray], None]:
    """Writes a product's field values (as many as it has fields), generated like
    `fields_decoder`: fixed-width integers, strings and timestamps checked and written in place,
    every other field by its compiled encoder; raises `Unusual` like they do."""
    names: dict[str, object] = {"Unusual": Unusual}
    fields = "".join(f"v{i}, " for i in range(len(ty.elements)))
    lines = ["def encode_fields(fields, out):", f"    {fields}= fields"]
    for i, element in enumerate(ty.elements):
        lines += _field_encoder_lines(i, element.type, ctx, names)
    exec("\n".join(lines), names)  # noqa: S102 - the text is built here from the type alone
    encode_fields: Callable[[Sequence[object], bytearray], None] = names["encode_fields"]  # type: ignore[assignment]
    return encode_fields


def _field_encoder_lines(
    i: int, ty: AlgebraicType, ctx: TypeContext, names: dict[str, object]
) -> list[str]:
    """The statements checking and writing field ``v{i}``."""
    resolved = None if isinstance(ty, Ref) else ty
    fixed = _FIXED.get(resolved) if isinstance(resolved, Primitive) else None
    if fixed is not None and resolved not in (Primitive.F32, Primitive.F64):
        low, high = INT_RANGES[resolved]  # type: ignore[index]
        names[f"pack{i}"] = fixed.pack
        return [
            f"    if type(v{i}) is not int or not {low} <= v{i} < {high}:",
            "        raise Unusual",
            f"    out += pack{i}(v{i})",
        ]
    if resolved is Primitive.STRING:
        names["pack_u32"] = U32.pack
        return [
            f"    if type(v{i}) is not str:",
            "        raise Unusual",
            "    try:",
            f"        data = v{i}.encode()",
            "    except UnicodeEncodeError:",
            "        raise Unusual from None",
            "    out += pack_u32(len(data))",
            "    out += data",
        ]
    special = resolved.special if isinstance(resolved, ProductType) else None
    if special is SpecialKind.TIMESTAMP or special is SpecialKind.TIME_DURATION:
        names["pack_i64"] = I64.pack
        names[f"cls{i}"] = SPECIAL_CLASSES[special]
        return [
            f"    if type(v{i}) is not cls{i}:",
            "        raise Unusual",
            f"    out += pack_i64(v{i}.{SPECIAL_ATTRIBUTES[special]})",
        ]
    names[f"encode{i}"] = compiled_encoder(ty, ctx)
    return [f"    encode{i}(v{i}, out)"]


def _encode_unit(value: object, out: bytearray) -> None:
    if value is not None and (type(value) not in (tuple, list) or value):
        raise Unusual


def _primitive_encoder(ty: Primitive) -> Encoder:
    if ty is Primitive.BOOL:
        return _encode_bool
    if ty is Primitive.STRING:
        return _encode_string
    if ty in (Primitive.F32, Primitive.F64):
        pack_float = _FIXED[ty].pack
        limit = F32_MAX if ty is Primitive.F32 else sys.float_info.max

        def encode_float(value: object, out: bytearray) -> None:
            if type(value) is not float or not -limit <= value <= limit:  # NaN: False
                raise Unusual
            out += pack_float(value)

        return encode_float
    low, high = INT_RANGES[ty]
    fixed = _FIXED.get(ty)
    if fixed is not None:
        pack = fixed.pack

        def encode_fixed(value: object, out: bytearray) -> None:
            if type(value) is not int or not low <= value < high:
                raise Unusual
            out += pack(value)

        return encode_fixed
    width, signed = _WIDE[ty]

    def encode_wide(value: object, out: bytearray) -> None:
        if type(value) is not int or not low <= value < high:
            raise Unusual
        out += value.to_bytes(width, "little", signed=signed)

    return encode_wide


def _encode_bool(value: object, out: bytearray) -> None:
    if type(value) is not bool:
        raise Unusual
    out.append(value)


def _encode_string(value: object, out: bytearray) -> None:
    if type(value) is not str:
        raise Unusual
    try:
        data = value.encode()
    except UnicodeEncodeError:
        raise Unusual from None
    out += U32.pack(len(data))
    out += data


def _encode_bytes(value: object, out: bytearray) -> None:
    if type(value) is not bytes:
        raise Unusual
    out += U32.pack(len(value))
    out += value


def _array_encoder(ty: ArrayType, ctx: TypeContext) -> Encoder:
    if ctx.typespace.resolve(ty.element) == Primitive.U8:
        return _encode_bytes
    element = compiled_encoder(ty.element, ctx)

    def encode_array(value: object, out: bytearray) -> None:
        if type(value) is not tuple and type(value) is not list:
            raise Unusual
        items: Sequence[object] = value
        out += U32.pack(len(items))
        for item in items:
            element(item, out)

    return encode_array


def _sum_encoder(ty: SumType, ctx: TypeContext) -> Encoder:
    payloads = tuple(compiled_encoder(v.type, ctx) for v in ty.variants)
    if ty.option_of is not None:
        some = payloads[0]

        def encode_option(value: object, out: bytearray) -> None:
            if value is None:
                out.append(1)
            else:
                out.append(0)
                some(value, out)

        return encode_option
    tags = variant_tags(ty)

    def encode_sum(value: object, out: bytearray) -> None:
        if type(value) is Variant:
            name, payload = value.name, value.value
        elif isinstance(value, enum.Enum):
            name, payload = value.name, ()
        else:
            raise Unusual
        tag = tags.get(name) if type(name) is str else None
        if tag is None:
            raise Unusual
        out.append(tag)
        payloads[tag](payload, out)

    return encode_sum


def _special_encoder(kind: SpecialKind) -> Encoder:
    cls = SPECIAL_CLASSES[kind]
    if kind is SpecialKind.TIMESTAMP or kind is SpecialKind.TIME_DURATION:
        pack = I64.pack

        def encode_micros(value: object, out: bytearray) -> None:
            if type(value) is not cls:  # a subclass goes through `encoder`
                raise Unusual
            out += pack(special_integer(kind, value))

        return encode_micros
    width = 32 if kind is SpecialKind.IDENTITY else 16

    def encode_id(value: object, out: bytearray) -> None:
        if type(value) is not cls:
            raise Unusual
        out += special_integer(kind, value).to_bytes(width, "little")

    return encode_id
