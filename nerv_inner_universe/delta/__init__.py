"""The pure delta layer: JSON values, RFC 6901 paths, delta operations, diff/apply/invert,
canonical JSON (RFC 8785 with the server's int/float rules) and ``data_hash``.

It depends on nothing else in the project, does no I/O, and never changes its inputs.
"""

from __future__ import annotations

from nerv_inner_universe.delta.applying import apply, invert
from nerv_inner_universe.delta.canonical import (
    canonical_json,
    data_hash,
    parse_canonical_json,
    parse_json,
)
from nerv_inner_universe.delta.diffing import diff
from nerv_inner_universe.delta.errors import (
    ApplyError,
    DeltaError,
    IndexOutOfRangeError,
    InvalidJSONError,
    InvalidOperationError,
    InvalidPathError,
    InvalidValueError,
    PathNotFoundError,
    TypeMismatchError,
)
from nerv_inner_universe.delta.operations import Delete, Insert, Operation, Patch, Remove, Set
from nerv_inner_universe.delta.paths import join_path, path_tokens
from nerv_inner_universe.delta.serialize import from_dict, to_dict
from nerv_inner_universe.delta.values import JSON, MAX_DEPTH, json_equal, validate_json

__all__ = [
    "JSON",
    "MAX_DEPTH",
    "ApplyError",
    "Delete",
    "DeltaError",
    "IndexOutOfRangeError",
    "Insert",
    "InvalidJSONError",
    "InvalidOperationError",
    "InvalidPathError",
    "InvalidValueError",
    "Operation",
    "Patch",
    "PathNotFoundError",
    "Remove",
    "Set",
    "TypeMismatchError",
    "apply",
    "canonical_json",
    "data_hash",
    "diff",
    "from_dict",
    "invert",
    "join_path",
    "json_equal",
    "parse_canonical_json",
    "parse_json",
    "path_tokens",
    "to_dict",
    "validate_json",
]
