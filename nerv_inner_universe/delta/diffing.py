"""``diff``: the operations that turn one state into another.

Objects are compared key by key (``Delete`` for removed keys, ``Set`` for added ones, recursion
into kept ones). Lists keep their longest common prefix and suffix; the items between are
paired by position (recursing into each pair) and the surplus is removed or inserted, so one
item added or dropped anywhere costs one ``Insert`` or ``Remove``. Anything else that differs,
including a change of kind (``1`` to ``1.0``, ``1`` to ``True``, an object to a list), is a
``Set``. Comparison is ``json_equal``, never Python's ``==``.
"""

from __future__ import annotations

from nerv_inner_universe.delta.operations import Delete, Insert, Operation, Remove, Set
from nerv_inner_universe.delta.paths import join_path
from nerv_inner_universe.delta.values import JSON, json_equal, validate_json


def diff(a: JSON, b: JSON) -> list[Operation]:
    """Operations ``ops`` with ``apply(a, ops)`` equal to ``b`` (``json_equal``)."""
    validate_json(a, "a")
    validate_json(b, "b")
    ops: list[Operation] = []
    _diff_into(ops, "", a, b)
    return ops


def _diff_into(ops: list[Operation], path: str, a: JSON, b: JSON) -> None:
    if type(a) is dict and type(b) is dict:
        ops.extend(Delete(join_path(path, key)) for key in a if key not in b)
        for key, item in b.items():
            if key in a:
                _diff_into(ops, join_path(path, key), a[key], item)
            else:
                ops.append(Set(join_path(path, key), item))
    elif type(a) is list and type(b) is list:
        _diff_lists(ops, path, a, b)
    elif not json_equal(a, b):
        ops.append(Set(path, b))


def _diff_lists(ops: list[Operation], path: str, a: list[JSON], b: list[JSON]) -> None:
    shorter = min(len(a), len(b))
    start = 0
    while start < shorter and json_equal(a[start], b[start]):
        start += 1
    end = 0
    while end < shorter - start and json_equal(a[-1 - end], b[-1 - end]):
        end += 1
    a_middle, b_middle = len(a) - start - end, len(b) - start - end
    paired = min(a_middle, b_middle)
    for index in range(start, start + paired):
        _diff_into(ops, join_path(path, index), a[index], b[index])
    ops.extend(Remove(path, start + paired) for _ in range(a_middle - paired))
    ops.extend(Insert(path, b[index], index) for index in range(start + paired, start + b_middle))
