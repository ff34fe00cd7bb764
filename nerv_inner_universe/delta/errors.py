"""Errors of the delta layer.

Every public call of ``nerv_inner_universe.delta`` raises a :class:`DeltaError` subclass whose
message names the offending path (and, for operations, the operation) and says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nerv_inner_universe.shown import quote

if TYPE_CHECKING:
    from nerv_inner_universe.delta.operations import Operation


class DeltaError(Exception):
    """Base class of every error the delta layer raises."""


class InvalidValueError(DeltaError, ValueError):
    """A value is not JSON as this project models it (see ``validate_json``)."""

    def __init__(self, name: str, path: str, problem: str) -> None:
        super().__init__(f"{name} is not valid JSON at {quote(path)}: {problem}")
        self.name = name
        self.path = path
        """RFC 6901 pointer to the offending item inside the value (``''`` is the value itself)."""
        self.problem = problem


class InvalidJSONError(DeltaError, ValueError):
    """A text is not strict JSON (syntax, NaN or Infinity literals, duplicate keys)."""


class InvalidPathError(DeltaError, ValueError):
    """A path is not an RFC 6901 JSON Pointer, or not one the operation can use."""


class InvalidOperationError(DeltaError, ValueError):
    """An operation is malformed: a bad index, a non-operation, or a dict ``from_dict`` rejects."""


class ApplyError(DeltaError):
    """An operation does not fit the state it is applied to.

    ``path`` is where the state did not fit; ``op_index`` is the operation's position in the
    sequence given to ``apply`` or ``invert`` (set by them, so the message can name it).
    """

    def __init__(self, op: Operation, path: str, problem: str) -> None:
        super().__init__(problem)
        self.op = op
        self.path = path
        self.problem = problem
        self.op_index: int | None = None

    def __str__(self) -> str:
        where = f"{self.op.OP} at {quote(self.op.path)}"
        if self.op_index is not None:
            where = f"operation {self.op_index} ({where})"
        return f"{where} failed: {self.problem}"


class PathNotFoundError(ApplyError, LookupError):
    """A key the path needs is missing, or a token cannot name a list item."""


class TypeMismatchError(ApplyError, TypeError):
    """The path reaches a value of the wrong kind (e.g. a string where a list is needed)."""


class IndexOutOfRangeError(ApplyError, IndexError):
    """A list index is past the end of the list."""
