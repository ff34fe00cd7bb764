"""What the typed value codecs (`sats_json`, `bsatn`) share, whatever their wire format: the
context types are resolved in, the ranges of the integer types, how a product's fields are
read from a Python value and how decoded fields become one, and how a sum's variant is found.

Python side (both codecs): bool, int (all widths, exact), float, str, ``bytes`` for
``Array<U8>``, tuples for other arrays, ``Row`` (or a registered class) for products,
``None``/value for ``Option``, ``Variant`` (or a registered Enum) for other sums, and the value
classes of ``values`` for Identity, ConnectionId, Timestamp and TimeDuration.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs

from .algebraic import (
    AlgebraicType,
    ArrayType,
    Primitive,
    ProductType,
    Ref,
    SpecialKind,
    SumType,
    Typespace,
    describe,
)
from .errors import SchemaError
from .numbers import ascii_int
from .registry import TypeRegistry
from .values import ConnectionId, Identity, Row, TimeDuration, Timestamp, Variant

INT_RANGES = {
    Primitive.I8: (-(1 << 7), 1 << 7),
    Primitive.U8: (0, 1 << 8),
    Primitive.I16: (-(1 << 15), 1 << 15),
    Primitive.U16: (0, 1 << 16),
    Primitive.I32: (-(1 << 31), 1 << 31),
    Primitive.U32: (0, 1 << 32),
    Primitive.I64: (-(1 << 63), 1 << 63),
    Primitive.U64: (0, 1 << 64),
    Primitive.I128: (-(1 << 127), 1 << 127),
    Primitive.U128: (0, 1 << 128),
    Primitive.I256: (-(1 << 255), 1 << 255),
    Primitive.U256: (0, 1 << 256),
}
"""Each integer type's range, ``low <= value < high``."""
F32_MAX = 3.4028234663852886e38
"""The largest finite f32."""
_TAG_DIGITS = 3
"""A sum has at most 256 variants (a ``u8`` tag), so a tag written as text has 1-3 digits."""


@attrs.frozen
class TypeContext:
    """What resolving a type needs: the typespace, its type names and the caller's classes.
    Each codec keeps what it compiled for a type here (`compiled`)."""

    typespace: Typespace = attrs.field(factory=Typespace)
    type_names: Mapping[int, str] = attrs.field(factory=dict)
    registry: TypeRegistry | None = None
    _compiled: dict[str, dict[AlgebraicType, Any]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False, hash=False
    )

    def compiled(self, kind: str) -> dict[AlgebraicType, Any]:
        """The cache of one kind of compiled function (``"json-decoder"``...) by type."""
        found = self._compiled.get(kind)
        if found is None:
            found = self._compiled[kind] = {}
        return found

    def resolve(
        self, ty: AlgebraicType
    ) -> tuple[Primitive | ProductType | SumType | ArrayType, type | None]:
        """The concrete type and the class registered for it (when ``ty`` is a named ref)."""
        cls = None
        if isinstance(ty, Ref) and self.registry is not None:
            name = self.type_names.get(ty.index)
            cls = self.registry.get(name) if name is not None else None
        return self.typespace.resolve(ty), cls


def kind_of(value: object) -> str:
    """The name of ``value``'s type, for error messages."""
    return type(value).__name__


# --- encoding ---------------------------------------------------------------------------


class Unusual(Exception):
    """Raised by a compiled encoder for a value outside the common shapes it handles; the
    codec then takes its general path, which encodes the value or words the error."""


def fields_getter(names: Sequence[str | None]) -> Callable[[object], Sequence[object]]:
    """A product's field values, in order, from a value of a common shape: a dict with exactly
    the field names, a list or tuple of as many, a `Row` with the same names, another mapping,
    an attrs instance whose fields are the product's. Raises `Unusual` for any other value."""
    field_names = tuple(str(name) for name in names)
    getters: dict[type, FieldsOf | None] = {}
    """How a class's values give the fields (another mapping, an attrs class whose fields are
    exactly the product's), or None (the general path)."""

    def fields_of(value: object) -> Sequence[object]:
        cls = type(value)
        if cls is dict:  # exactly the names: as many keys, none missing
            exact = cast("dict[object, object]", value)
            if len(exact) == len(names):
                try:
                    return [exact[name] for name in names]
                except KeyError:
                    pass
            raise Unusual
        if cls is list or cls is tuple:
            fields = cast("Sequence[object]", value)
            if len(fields) == len(names):
                return fields
            raise Unusual
        if cls is Row and cast(Row, value).field_names == field_names:
            return cast(Row, value).as_tuple()
        getter = getters[cls] if cls in getters else getters.setdefault(cls, _getter(cls, names))
        if getter is None:
            raise Unusual
        return getter(value)

    return fields_of


FieldsOf = Callable[[Any], Sequence[object]]
"""A product's field values, in order, from a value of one class (raises `Unusual` when a
value does not have them)."""


def _getter(cls: type, names: Sequence[str | None]) -> FieldsOf | None:
    """How values of ``cls`` give the fields ``names``: by key for a mapping, by attribute (one
    C call for them all) for an attrs class whose fields are exactly ``names``; None for any
    other class."""
    field_names = tuple(map(str, names))
    if issubclass(cls, Mapping):

        def mapping_fields(mapping: Mapping[object, object]) -> Sequence[object]:
            if len(mapping) == len(names) and all(name in mapping for name in names):
                return [mapping[name] for name in names]
            raise Unusual

        return mapping_fields
    if not attrs.has(cls) or sorted(f.name for f in attrs.fields(cls)) != sorted(field_names):
        return None
    if len(field_names) < 2:  # `attrgetter` gives a tuple for two names or more
        return lambda value: tuple(getattr(value, name) for name in field_names)
    return operator.attrgetter(*field_names)


def variant_tag(ty: SumType, key: object) -> int | None:
    """The variant ``key`` names: its name, its tag, or its tag in ASCII digits."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key if 0 <= key < len(ty.variants) else None
    if isinstance(key, str):
        tag = ty.variant_index(key)
        if tag is None:
            number = ascii_int(key, _TAG_DIGITS)
            return None if number is None else variant_tag(ty, number)
        return tag
    return None


def variant_tags(ty: SumType) -> dict[str, int]:
    """The names a caller's `Variant` or Enum member uses for each variant (its name, or its
    tag as text when it has none; the first of a name wins) and their tags."""
    tags: dict[str, int] = {}
    for i, variant in enumerate(ty.variants):
        tags.setdefault(variant.name if variant.name is not None else str(i), i)
    return tags


# --- decoding ---------------------------------------------------------------------------


D = TypeVar("D")
"""A codec's compiled decoder."""


def cached_decoder(
    ty: AlgebraicType,
    ctx: TypeContext,
    kind: str,
    compile_concrete: Callable[[Primitive | ProductType | SumType | ArrayType, type | None], D],
    through: Callable[[Callable[[], D]], D],
) -> D:
    """A codec's decoder of ``ty``, compiled on first use and kept in ``ctx`` under ``kind``.
    A ref's decoder is ``through(select)``, where ``select()`` gives the decoder of the type it
    names: compiled on its first call (so recursive types and unused dangling refs work like
    the types they name) and, when a registry is set, for the class registered for a named
    product or sum at that call (so a class registered later counts)."""
    cache = ctx.compiled(kind)
    found: D | None = cache.get(ty)
    if found is None:
        if isinstance(ty, Ref):
            found = through(_ref_selector(ty, ctx, compile_concrete))
        else:
            found = compile_concrete(ty, None)
        cache[ty] = found
    return found


def _ref_selector(
    ref: Ref,
    ctx: TypeContext,
    compile_concrete: Callable[[Primitive | ProductType | SumType | ArrayType, type | None], D],
) -> Callable[[], D]:
    compiled: list[D] = []
    by_class: dict[type | None, D] = {}

    def select() -> D:
        if compiled:
            return compiled[0]
        concrete = ctx.typespace.resolve(ref)
        if ctx.registry is None or not isinstance(concrete, ProductType | SumType):
            compiled.append(compile_concrete(concrete, None))
            return compiled[0]
        cls = ctx.resolve(ref)[1]
        found = by_class.get(cls)
        if found is None:
            found = by_class[cls] = compile_concrete(concrete, cls)
        return found

    return select


KNOWN_VALUES = 256
"""How many Identity / ConnectionId values one decoder remembers by their wire form (a table's
rows name the same few writers over and over); it forgets them all when full."""


def remember(known: dict[Any, object], key: object, value: object) -> object:
    """Keeps ``value`` in a decoder's ``known`` values (at most `KNOWN_VALUES`); returns it."""
    if len(known) >= KNOWN_VALUES:
        known.clear()
    known[key] = value
    return value


def product_builder(ty: ProductType, cls: type | None) -> Callable[[tuple[object, ...]], object]:
    """What a (non-special) product's decoded field values become: a tuple (no names), ``cls``
    or a ``Row``; SchemaError when ``cls`` cannot hold them."""
    field_names = tuple(e.name or str(i) for i, e in enumerate(ty.elements))
    if not ty.elements or all(e.name is None for e in ty.elements):
        return lambda values: values
    if cls is not None:
        target = cls

        def build(values: tuple[object, ...]) -> object:
            try:
                return target(**dict(zip(field_names, values, strict=True)))
            except TypeError as error:
                raise SchemaError(
                    f"{target.__qualname__} cannot hold {describe(ty)}: {error}"
                ) from None

        return build
    return lambda values: Row.from_fields(field_names, values)


def sum_builder(ty: SumType, cls: type | None) -> Callable[[int, object], object]:
    """What a decoded sum (tag, payload) becomes: the payload or None (``Option``), a member
    of ``cls`` when it is an Enum (SchemaError when it has no such member or the variant
    carries data), else a `Variant`."""
    names = [v.name if v.name is not None else str(i) for i, v in enumerate(ty.variants)]
    if ty.option_of is not None:
        return lambda tag, value: value if tag == 0 else None
    if cls is not None and issubclass(cls, enum.Enum):
        enum_class = cls
        return lambda tag, value: _enum_member(enum_class, names[tag], value)
    new, set_name, set_value = object.__new__, _VARIANT_NAME, _VARIANT_VALUE

    def variant(tag: int, value: object) -> Variant:  # Variant(names[tag], value), set directly
        built: Variant = new(Variant)
        set_name(built, names[tag])
        set_value(built, value)
        return built

    return variant


_VARIANT_NAME = Variant.__dict__["name"].__set__
_VARIANT_VALUE = Variant.__dict__["value"].__set__
"""`Variant`'s slot setters: a decoded sum's Variant is built without its ``__init__`` (which
checks nothing), at about half the cost."""


def _enum_member(cls: type[enum.Enum], name: str, value: object) -> object:
    if value != ():
        raise SchemaError(f"{cls.__qualname__} is an Enum but variant {name!r} carries data")
    try:
        return cls[name]
    except KeyError:
        raise SchemaError(f"{cls.__qualname__} has no member {name!r}") from None


SPECIAL_CLASSES: dict[SpecialKind, type] = {
    SpecialKind.IDENTITY: Identity,
    SpecialKind.CONNECTION_ID: ConnectionId,
    SpecialKind.TIMESTAMP: Timestamp,
    SpecialKind.TIME_DURATION: TimeDuration,
}
"""Each special type's value class; each is built from one integer."""


SPECIAL_ATTRIBUTES = {kind: attrs.fields(cls)[0].name for kind, cls in SPECIAL_CLASSES.items()}
"""The attribute holding each special value's integer (``micros_since_epoch``...)."""


def special_integer(kind: SpecialKind, value: Any) -> int:
    """The integer a special value wraps (its wire value)."""
    return cast(int, getattr(value, SPECIAL_ATTRIBUTES[kind]))


def trusted_special(kind: SpecialKind) -> Callable[[int], object]:
    """Builds ``kind``'s value from an integer the caller knows is in its range (one read from
    a wire integer of the special type's width), without checking it again: half the cost of
    the class's validating constructor, for a decoder's hot path."""
    cls = SPECIAL_CLASSES[kind]
    name, new, set_field = SPECIAL_ATTRIBUTES[kind], object.__new__, object.__setattr__

    def make(number: int) -> object:
        value: object = new(cls)
        set_field(value, name, number)
        return value

    return make
