"""Paths are RFC 6901 JSON Pointers: ``""`` is the whole document, ``"/a/0/b~1c"`` is key
``"b/c"`` of item 0 of key ``"a"``. Parsing and escaping are the ``jsonpointer`` library's, so
there is one implementation of the ``~0``/``~1`` rules.
"""

from __future__ import annotations

from jsonpointer import JsonPointer, JsonPointerException, escape

from nerv_inner_universe.delta.errors import InvalidPathError


def path_tokens(path: str) -> list[str]:
    """The unescaped reference tokens of ``path`` (``[]`` for the root)."""
    if type(path) is not str:
        raise InvalidPathError(f"a path must be a str, not {type(path).__name__}")
    try:
        tokens: list[str] = JsonPointer(path).parts
    except JsonPointerException as error:
        raise InvalidPathError(
            f"path {path!r} is not an RFC 6901 JSON Pointer ({error}); write '' for the whole "
            "document, '/key/0' for members, '~0' for '~' and '~1' for '/' inside a key"
        ) from None
    return tokens


def join_path(path: str, *tokens: str | int) -> str:
    """``path`` extended by ``tokens`` (keys are escaped, list indices written in decimal)."""
    return path + "".join("/" + escape(str(token)) for token in tokens)


def parent_path(path: str) -> str:
    """The pointer to the container of a non-root ``path`` (its last token dropped)."""
    return path[: path.rfind("/")]
