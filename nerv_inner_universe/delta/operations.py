"""The five delta operations of the upstream ``DeltaOperation`` type, as immutable values.

Each operation is checked when it is built (a valid pointer, a JSON value, a non-negative
index) and keeps its own deep copy of its value, so later changes to the caller's objects
cannot alter an operation already recorded. Values compare by their canonical text, so
``Set("/a", 1) != Set("/a", 1.0) != Set("/a", True)`` and operations are hashable.

What each operation does to a state is in its docstring; ``apply`` implements it.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

import attrs

from nerv_inner_universe.delta.canonical import canonical_json
from nerv_inner_universe.delta.errors import (
    InvalidOperationError,
    InvalidPathError,
    InvalidValueError,
)
from nerv_inner_universe.delta.paths import path_tokens
from nerv_inner_universe.delta.values import (
    I64_MAX,
    JSON,
    copy_json,
    describe_kind,
    validate_json,
)
from nerv_inner_universe.shown import shown


def _valid_path(_op: object, _attribute: attrs.Attribute[str], path: str) -> None:
    path_tokens(path)


def _valid_member_path(op: object, attribute: attrs.Attribute[str], path: str) -> None:
    _valid_path(op, attribute, path)
    if path == "":
        raise InvalidPathError(
            "delete needs a member path; the whole document cannot be deleted (set '' instead)"
        )


def _valid_index(_op: object, attribute: attrs.Attribute[Any], index: object) -> None:
    if type(index) is not int or not 0 <= index <= I64_MAX:
        raise InvalidOperationError(
            f"{attribute.name} must be an int in 0..2**63-1 (a JSON integer), not {shown(index)}"
        )


def _owned_value(value: JSON) -> JSON:
    validate_json(value)
    return copy_json(value)


def _owned_patch(patch: dict[str, JSON]) -> dict[str, JSON]:
    if type(patch) is not dict:
        raise InvalidValueError(
            "patch", "", f"it is {describe_kind(patch)}; a patch is an object of keys to set"
        )
    validate_json(patch, "patch")
    return {key: copy_json(item) for key, item in patch.items()}


@attrs.frozen
class Set:
    """Replace or create the member at ``path``; ``path == ""`` replaces the whole state.

    The parent must exist and be an object (the key is created or replaced) or a list (the
    last token must be an existing index, or ``-`` to append).
    """

    OP: ClassVar[str] = "set"
    path: str = attrs.field(validator=_valid_path)
    value: JSON = attrs.field(converter=_owned_value, eq=canonical_json)


@attrs.frozen
class Delete:
    """Remove the existing key or list item at ``path`` (never the root: set it instead)."""

    OP: ClassVar[str] = "delete"
    path: str = attrs.field(validator=_valid_member_path)


@attrs.frozen
class Insert:
    """Insert ``value`` into the list at ``path`` before ``index`` (0..len); ``None`` appends."""

    OP: ClassVar[str] = "insert"
    path: str = attrs.field(validator=_valid_path)
    value: JSON = attrs.field(converter=_owned_value, eq=canonical_json)
    index: int | None = attrs.field(default=None, validator=attrs.validators.optional(_valid_index))


@attrs.frozen
class Remove:
    """Remove item ``index`` (0..len-1) of the list at ``path``."""

    OP: ClassVar[str] = "remove"
    path: str = attrs.field(validator=_valid_path)
    index: int = attrs.field(validator=_valid_index)


@attrs.frozen
class Patch:
    """Shallow-merge ``patch`` into the object at ``path`` (NERV's ``PatchDelta``).

    Each key of ``patch`` is set to its value, ``None`` included (a patch never deletes keys);
    other keys of the object are left alone.
    """

    OP: ClassVar[str] = "patch"
    path: str = attrs.field(validator=_valid_path)
    patch: dict[str, JSON] = attrs.field(converter=_owned_patch, eq=canonical_json)


Operation: TypeAlias = Set | Delete | Insert | Remove | Patch

OPERATION_TYPES: tuple[type[Operation], ...] = (Set, Delete, Insert, Remove, Patch)
