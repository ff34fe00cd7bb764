"""The SATS type model (``AlgebraicType``) as the module schema describes it, and its parser.

Types are structural: a ``Ref`` points into the module's typespace, and a few product shapes
(one field named ``__identity__`` etc.) are the special types Identity, ConnectionId,
Timestamp and TimeDuration.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import SchemaError


class Primitive(enum.Enum):
    """The scalar types; values are the variant names used by the schema JSON."""

    BOOL = "Bool"
    I8 = "I8"
    U8 = "U8"
    I16 = "I16"
    U16 = "U16"
    I32 = "I32"
    U32 = "U32"
    I64 = "I64"
    U64 = "U64"
    I128 = "I128"
    U128 = "U128"
    I256 = "I256"
    U256 = "U256"
    F32 = "F32"
    F64 = "F64"
    STRING = "String"


class SpecialKind(enum.Enum):
    """The special product types; values are their single field's tag name."""

    IDENTITY = "__identity__"
    CONNECTION_ID = "__connection_id__"
    TIMESTAMP = "__timestamp_micros_since_unix_epoch__"
    TIME_DURATION = "__time_duration_micros__"

    @property
    def type_name(self) -> str:
        """The SATS type's name, e.g. ``ConnectionId``."""
        return "".join(part.capitalize() for part in self.name.split("_"))


_SPECIAL_INNER = {
    SpecialKind.IDENTITY: Primitive.U256,
    SpecialKind.CONNECTION_ID: Primitive.U128,
    SpecialKind.TIMESTAMP: Primitive.I64,
    SpecialKind.TIME_DURATION: Primitive.I64,
}


@attrs.frozen
class Ref:
    """An index into the typespace."""

    index: int


@attrs.frozen
class ProductElement:
    """One field of a product type: its name (None for a positional field) and type."""

    name: str | None
    type: AlgebraicType


def _special_of(product: ProductType) -> SpecialKind | None:
    if len(product.elements) != 1:
        return None
    element = product.elements[0]
    for kind, inner in _SPECIAL_INNER.items():
        if element.name == kind.value and element.type == inner:
            return kind
    return None


@attrs.frozen
class ProductType:
    """A struct (or a tuple when its elements have no names); ``special`` marks Identity,
    ConnectionId, Timestamp and TimeDuration."""

    elements: tuple[ProductElement, ...]
    special: SpecialKind | None = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_special_of, takes_self=True)
    )

    @property
    def is_unit(self) -> bool:
        """True for ``()``, the payload of a variant without data."""
        return not self.elements

    @property
    def field_names(self) -> tuple[str | None, ...]:
        """The elements' names in declaration order (None for positional ones)."""
        return tuple(element.name for element in self.elements)


@attrs.frozen
class SumVariant:
    """One variant of a sum type: its name and its payload's type (``UNIT`` for none)."""

    name: str | None
    type: AlgebraicType


def _option_of(sum_type: SumType) -> AlgebraicType | None:
    variants = sum_type.variants
    if (
        len(variants) == 2
        and variants[0].name == "some"
        and variants[1].name == "none"
        and variants[1].type == UNIT
    ):
        return variants[0].type
    return None


@attrs.frozen
class SumType:
    """An enum whose variants may carry data; ``Option<T>`` is the sum ``some(T) | none``."""

    variants: tuple[SumVariant, ...]
    option_of: AlgebraicType | None = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_option_of, takes_self=True)
    )
    """The payload type when this sum is ``Option<T>``, else None."""

    def variant_index(self, name: str) -> int | None:
        """The tag of the variant called ``name``, or None when there is none."""
        for index, variant in enumerate(self.variants):
            if variant.name == name:
                return index
        return None


@attrs.frozen
class ArrayType:
    """``Vec<element>``; ``Vec<u8>`` is bytes."""

    element: AlgebraicType


AlgebraicType = Primitive | Ref | ProductType | SumType | ArrayType

UNIT = ProductType(())
IDENTITY = ProductType((ProductElement(SpecialKind.IDENTITY.value, Primitive.U256),))
CONNECTION_ID = ProductType((ProductElement(SpecialKind.CONNECTION_ID.value, Primitive.U128),))
TIMESTAMP = ProductType((ProductElement(SpecialKind.TIMESTAMP.value, Primitive.I64),))
TIME_DURATION = ProductType((ProductElement(SpecialKind.TIME_DURATION.value, Primitive.I64),))
BYTES = ArrayType(Primitive.U8)


def option(some: AlgebraicType) -> SumType:
    """``Option<some>``, shaped as the server defines it."""
    return SumType((SumVariant("some", some), SumVariant("none", UNIT)))


@attrs.frozen
class Typespace:
    """The module's list of types; ``Ref(i)`` means ``types[i]``."""

    types: tuple[AlgebraicType, ...] = ()

    def resolve(self, ty: AlgebraicType) -> Primitive | ProductType | SumType | ArrayType:
        """Follows refs to a concrete type (refs to refs allowed, cycles of refs are not)."""
        seen: set[int] = set()
        while isinstance(ty, Ref):
            if ty.index in seen or not 0 <= ty.index < len(self.types):
                raise SchemaError(f"type ref {ty.index} is dangling or cyclic")
            seen.add(ty.index)
            ty = self.types[ty.index]
        return ty


def describe(ty: AlgebraicType) -> str:
    """A short human name of a type for error messages (``Option<String>``, ``Array<U8>``)."""
    match ty:
        case Primitive():
            text = ty.value
        case Ref():
            text = f"&{ty.index}"
        case ArrayType():
            text = f"Array<{describe(ty.element)}>"
        case SumType() if ty.option_of is not None:
            text = f"Option<{describe(ty.option_of)}>"
        case SumType():
            text = "enum{" + ", ".join(str(v.name) for v in ty.variants) + "}"
        case ProductType() if ty.special is not None:
            text = ty.special.type_name
        case ProductType():
            text = "struct{" + ", ".join(str(e.name) for e in ty.elements) + "}"
    return text


def parse_name(obj: Any, where: str) -> str | None:
    """Schema names are ``Option<String>``: ``{"some": "x"}`` or ``{"none": []}``."""
    if isinstance(obj, Mapping) and len(obj) == 1:
        if isinstance(obj.get("some"), str):
            return str(obj["some"])
        if "none" in obj:
            return None
    raise SchemaError(f"{where}: expected an optional name, got {obj!r}")


def parse_type(obj: Any, where: str = "type") -> AlgebraicType:
    """Parses the schema JSON of an ``AlgebraicType`` (``{"U32": []}``, ``{"Ref": 3}``, ...)."""
    if not isinstance(obj, Mapping) or len(obj) != 1:
        raise SchemaError(f"{where}: expected a one-key object naming a type, got {obj!r}")
    ((tag, body),) = obj.items()
    if tag == "Ref":
        if not isinstance(body, int):
            raise SchemaError(f"{where}: Ref needs an integer, got {body!r}")
        return Ref(body)
    if tag == "Array":
        return ArrayType(parse_type(body, f"{where}.Array"))
    if tag == "Product":
        return parse_product(body, where)
    if tag == "Sum":
        variants = _items(body, "variants", where)
        return SumType(
            tuple(
                SumVariant(
                    parse_name(v.get("name"), f"{where}.variants[{i}]"),
                    parse_type(v.get("algebraic_type"), f"{where}.variants[{i}]"),
                )
                for i, v in enumerate(variants)
            )
        )
    try:
        return Primitive(tag)
    except ValueError:
        raise SchemaError(f"{where}: unknown type {tag!r}") from None


def parse_product(body: Any, where: str) -> ProductType:
    """Parses ``{"elements": [{"name": ..., "algebraic_type": ...}, ...]}``."""
    return ProductType(
        tuple(
            ProductElement(
                parse_name(e.get("name"), f"{where}.elements[{i}]"),
                parse_type(e.get("algebraic_type"), f"{where}.elements[{i}]"),
            )
            for i, e in enumerate(_items(body, "elements", where))
        )
    )


def _items(body: Any, key: str, where: str) -> list[Mapping[str, Any]]:
    items = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise SchemaError(f"{where}: expected {{{key!r}: [...]}}, got {body!r}")
    return items
