"""Paths are RFC 6901 JSON Pointers: ``""`` is the whole document, ``"/a/0/b~1c"`` is key
``"b/c"`` of item 0 of key ``"a"``. Parsing and escaping are the ``jsonpointer`` library's, so
there is one implementation of the ``~0``/``~1`` rules.
"""

from __future__ import annotations

from jsonpointer import JsonPointer, JsonPointerException, escape

from nerv_inner_universe.delta.errors import InvalidPathError
from nerv_inner_universe.shown import quote, shown


def path_tokens(path: str) -> list[str]:
    """The unescaped reference tokens of ``path`` (``[]`` for the root)."""
    if type(path) is not str:
        raise InvalidPathError(f"a path must be a str, not {type(path).__name__}")
    try:
        tokens: list[str] = JsonPointer(path).parts
    except JsonPointerException as error:
        raise InvalidPathError(
            f"path {quote(path)} is not an RFC 6901 JSON Pointer ({error}); write '' for the whole "
            "document, '/key/0' for members, '~0' for '~' and '~1' for '/' inside a key"
        ) from None
    return tokens


def join_path(path: str, *tokens: str | int) -> str:
    """``path`` extended by ``tokens`` (keys are escaped, list indices written in decimal).

    Raises :class:`InvalidPathError` when ``path`` is not a str or a token is neither a str
    nor an int index (0 to 2**63-1).
    """
    if type(path) is not str:
        raise InvalidPathError(f"a path must be a str, not {type(path).__name__}")
    return path + "".join("/" + escape(_token_text(token)) for token in tokens)


def _token_text(token: object) -> str:
    if type(token) is str:
        return token
    if type(token) is int and 0 <= token < 2**63:
        return str(token)
    raise InvalidPathError(
        f"a path token must be a str key or an int index 0..2**63-1, not {shown(token)}"
    )


def parent_path(path: str) -> str:
    """The pointer to the container of a non-root ``path`` (its last token dropped)."""
    return path[: path.rfind("/")]
