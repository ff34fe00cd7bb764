"""``apply`` and ``invert``: run operations against a private copy of a state.

Both copy the state once at the start and change only that copy, so they are pure (the caller's
state and operations are never touched, and the result shares nothing with them) and atomic (an
operation that does not fit raises before anything reaches the caller). The error's
``op_index`` and message name the failing operation's position. Operation values are valid
JSON already, so the one way a result can be invalid is nesting deeper than ``MAX_DEPTH``;
the result is checked for that (``InvalidValueError`` naming the path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import assert_never

from nerv_inner_universe.delta.errors import (
    ApplyError,
    IndexOutOfRangeError,
    InvalidOperationError,
    PathNotFoundError,
    TypeMismatchError,
)
from nerv_inner_universe.delta.operations import (
    OPERATION_TYPES,
    Delete,
    Insert,
    Operation,
    Patch,
    Remove,
    Set,
)
from nerv_inner_universe.delta.paths import join_path, parent_path, path_tokens
from nerv_inner_universe.delta.values import (
    I64_DIGITS,
    JSON,
    copy_json,
    describe_kind,
    validate_json,
)
from nerv_inner_universe.shown import quote

Container = dict[str, JSON] | list[JSON]

_END = "-"
"""RFC 6901's token for the position after a list's last item (``Set`` appends there)."""

_LIST_INDEX = re.compile(r"0|[1-9][0-9]*")
"""RFC 6901 array indices: ASCII decimal, no sign, no leading zeros (``"²"`` or ``"٢"`` are
keys, never indices)."""


def apply(state: JSON, ops: Iterable[Operation]) -> JSON:
    """The state after applying ``ops`` in order to ``state`` (which is left unchanged)."""
    checked = _checked_ops(ops)
    doc = _private_copy(state)
    for op_index, op in enumerate(checked):
        with _numbered(op_index):
            doc = _apply_one(doc, op)
    validate_json(doc, "the result")
    return doc


def invert(ops: Iterable[Operation], state: JSON) -> list[Operation]:
    """The operations that undo ``ops`` applied to ``state``.

    ``apply(apply(state, ops), invert(ops, state))`` equals ``state`` (``json_equal``; dict key
    order may differ). Raises what ``apply(state, ops)`` would raise if ``ops`` do not fit.
    """
    checked = _checked_ops(ops)
    doc = _private_copy(state)
    undo: list[list[Operation]] = []
    for op_index, op in enumerate(checked):
        with _numbered(op_index):
            undo.append(_inverse(doc, op))
            doc = _apply_one(doc, op)
    validate_json(doc, "the result")
    return [inverse for step in reversed(undo) for inverse in step]


def _checked_ops(ops: Iterable[Operation]) -> list[Operation]:
    if not isinstance(ops, Iterable):
        raise InvalidOperationError(
            f"operations must be a list (or another iterable) of operations, not "
            f"{describe_kind(ops)}"
        )
    checked = list(ops)
    for op_index, op in enumerate(checked):
        if not isinstance(op, OPERATION_TYPES):
            raise InvalidOperationError(
                f"operation {op_index} is {describe_kind(op)}, not an operation; build a Set, "
                "Delete, Insert, Remove or Patch (from_dict turns a dict into one)"
            )
    return checked


def _private_copy(state: JSON) -> JSON:
    validate_json(state, "state")
    return copy_json(state)


@contextmanager
def _numbered(op_index: int) -> Iterator[None]:
    try:
        yield
    except ApplyError as error:
        error.op_index = op_index
        raise


def _apply_one(doc: JSON, op: Operation) -> JSON:
    """Apply ``op`` to ``doc`` in place; returns the document (a new one for ``Set("")``)."""
    match op:
        case Set(path=""):
            return copy_json(op.value)
        case Set():
            parent, token = _parent(doc, op)
            if isinstance(parent, dict):
                parent[token] = copy_json(op.value)
            elif token == _END:
                parent.append(copy_json(op.value))
            else:
                parent[_item_index(op, parent, token, parent_path(op.path))] = copy_json(op.value)
        case Delete():
            parent, token = _parent(doc, op)
            if isinstance(parent, dict):
                _require_key(op, parent, token, parent_path(op.path))
                del parent[token]
            else:
                del parent[_item_index(op, parent, token, parent_path(op.path))]
        case Insert():
            items = _list_at(doc, op)
            items.insert(_insert_position(op, items), copy_json(op.value))
        case Remove():
            items = _list_at(doc, op)
            del items[_check_index(op, items, op.index, op.path)]
        case Patch():
            _object_at(doc, op).update((key, copy_json(item)) for key, item in op.patch.items())
        case _:
            assert_never(op)
    return doc


def _inverse(doc: JSON, op: Operation) -> list[Operation]:
    """The operations that undo ``op`` on ``doc``, read before ``op`` is applied."""
    match op:
        case Set(path=""):
            return [Set("", doc)]
        case Set() | Delete():
            return _inverse_member(doc, op)
        case Insert():
            return [Remove(op.path, _insert_position(op, _list_at(doc, op)))]
        case Remove():
            items = _list_at(doc, op)
            return [Insert(op.path, items[_check_index(op, items, op.index, op.path)], op.index)]
        case Patch():
            target = _object_at(doc, op)
            added: list[Operation] = [
                Delete(join_path(op.path, key)) for key in op.patch if key not in target
            ]
            replaced = {key: target[key] for key in op.patch if key in target}
            return [*added, Patch(op.path, replaced)] if replaced else added
        case _:
            assert_never(op)


def _inverse_member(doc: JSON, op: Set | Delete) -> list[Operation]:
    parent, token = _parent(doc, op)
    at = parent_path(op.path)
    if isinstance(parent, dict):
        if isinstance(op, Delete):
            _require_key(op, parent, token, at)
        return [Set(op.path, parent[token])] if token in parent else [Delete(op.path)]
    if isinstance(op, Set) and token == _END:
        return [Remove(at, len(parent))]
    index = _item_index(op, parent, token, at)
    if isinstance(op, Set):
        return [Set(op.path, parent[index])]
    return [Insert(at, parent[index], index)]


def _resolve(doc: JSON, op: Operation, tokens: list[str]) -> JSON:
    """The value ``tokens`` lead to from ``doc``; every step must exist."""
    node, at = doc, ""
    for token in tokens:
        if isinstance(node, dict):
            _require_key(op, node, token, at)
            node = node[token]
        elif isinstance(node, list):
            node = node[_item_index(op, node, token, at)]
        else:
            raise TypeMismatchError(
                op, at, f"{quote(at)} is {describe_kind(node)}, so it has no member {quote(token)}"
            )
        at = join_path(at, token)
    return node


def _parent(doc: JSON, op: Set | Delete) -> tuple[Container, str]:
    """The container holding the member ``op.path`` names, and that member's token."""
    tokens = path_tokens(op.path)
    parent = _resolve(doc, op, tokens[:-1])
    if not isinstance(parent, dict | list):
        at = parent_path(op.path)
        raise TypeMismatchError(
            op,
            at,
            f"{quote(at)} is {describe_kind(parent)}, so it has no member {quote(tokens[-1])}; "
            f"{op.OP} needs the parent to be an object or a list",
        )
    return parent, tokens[-1]


def _list_at(doc: JSON, op: Insert | Remove) -> list[JSON]:
    node = _resolve(doc, op, path_tokens(op.path))
    if not isinstance(node, list):
        raise TypeMismatchError(
            op, op.path, f"{quote(op.path)} is {describe_kind(node)}; {op.OP} needs a list there"
        )
    return node


def _object_at(doc: JSON, op: Patch) -> dict[str, JSON]:
    node = _resolve(doc, op, path_tokens(op.path))
    if not isinstance(node, dict):
        raise TypeMismatchError(
            op, op.path, f"{quote(op.path)} is {describe_kind(node)}; patch needs an object there"
        )
    return node


def _require_key(op: Operation, obj: dict[str, JSON], key: str, at: str) -> None:
    if key not in obj:
        raise PathNotFoundError(
            op,
            join_path(at, key),
            f"the object at {quote(at)} has no key {quote(key)}; create it first (set) or fix "
            "the path",
        )


def _item_index(op: Operation, items: list[JSON], token: str, at: str) -> int:
    """The existing list item ``token`` names (``-``, the end, is never an existing item)."""
    if token == _END:
        raise IndexOutOfRangeError(
            op, at, f"'-' names the end of the list at {quote(at)}, not an item; use an index"
        )
    if not _LIST_INDEX.fullmatch(token):
        raise PathNotFoundError(
            op,
            join_path(at, token),
            f"{quote(token)} is not an index into the list at {quote(at)}; use 0, 1, ... (ASCII "
            "digits, no sign or leading zeros)",
        )
    if len(token) > I64_DIGITS:  # past any list, and int() refuses 4,300 digits and more
        raise IndexOutOfRangeError(
            op,
            at,
            f"index {quote(token)} is out of range for the list at {quote(at)} ({_range(items)})",
        )
    return _check_index(op, items, int(token), at)


def _check_index(op: Operation, items: list[JSON], index: int, at: str) -> int:
    if index >= len(items):
        raise IndexOutOfRangeError(
            op, at, f"index {index} is out of range for the list at {quote(at)} ({_range(items)})"
        )
    return index


def _insert_position(op: Insert, items: list[JSON]) -> int:
    if op.index is None:
        return len(items)
    if op.index > len(items):
        raise IndexOutOfRangeError(
            op,
            op.path,
            f"index {op.index} is out of range for inserting into the list at {quote(op.path)} "
            f"with {len(items)} items (valid: 0..{len(items)})",
        )
    return op.index


def _range(items: list[JSON]) -> str:
    return f"valid: 0..{len(items) - 1}" if items else "the list is empty"
