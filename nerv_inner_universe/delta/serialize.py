"""Operations as plain dicts in one tagged shape, for JSON transport and storage.

``{"op": "set", "path": "/a", "value": 1}``, ``{"op": "delete", "path": "/a"}``,
``{"op": "insert", "path": "/l", "value": 1, "index": null}``,
``{"op": "remove", "path": "/l", "index": 0}``, ``{"op": "patch", "path": "", "patch": {}}``:
the lowercase ``op`` name plus the operation's fields. ``to_dict`` writes every field;
``from_dict`` also accepts a dict that leaves out a field with a default (``insert``'s index).
"""

from __future__ import annotations

import attrs

from nerv_inner_universe.delta.errors import (
    DeltaError,
    InvalidOperationError,
)
from nerv_inner_universe.delta.operations import OPERATION_TYPES, Operation
from nerv_inner_universe.delta.values import JSON, copy_json, describe_kind
from nerv_inner_universe.shown import shown

_BY_NAME = {op_type.OP: op_type for op_type in OPERATION_TYPES}


def to_dict(op: Operation) -> dict[str, JSON]:
    """``op`` in the tagged shape; values are copies, so the dict may be changed freely."""
    fields = {field.name: copy_json(getattr(op, field.name)) for field in attrs.fields(type(op))}
    return {"op": op.OP, **fields}


def from_dict(data: object) -> Operation:
    """The operation ``data`` describes; :class:`InvalidOperationError` says what is wrong."""
    if type(data) is not dict:
        raise InvalidOperationError(f"an operation dict is needed, not {describe_kind(data)}")
    name = data.get("op")
    op_type = _BY_NAME.get(name) if type(name) is str else None
    if op_type is None:
        raise InvalidOperationError(
            f"'op' is {shown(name)}; it must be one of {', '.join(map(repr, _BY_NAME))}"
        )
    fields = attrs.fields(op_type)
    required = {field.name for field in fields if field.default is attrs.NOTHING}
    allowed = {field.name for field in fields}
    missing, unknown = required - data.keys(), data.keys() - allowed - {"op"}
    if missing or unknown:
        raise InvalidOperationError(
            f"a {name} operation has the keys op, {', '.join(sorted(allowed))}; "
            f"missing: {sorted(missing)}, unknown: {sorted(map(_key_text, unknown))}"
        )
    try:
        return op_type(**{key: value for key, value in data.items() if key != "op"})
    except DeltaError as error:
        raise InvalidOperationError(f"invalid {name} operation: {error}") from None


def _key_text(key: object) -> str:
    return key if type(key) is str else shown(key)
