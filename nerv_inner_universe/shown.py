"""Caller-given values in error messages: short, and never an error themselves.

A leaf module that imports nothing of the project, so every layer may use it (like ``log``).
``repr()`` of an int past CPython's 4,300-digit int/str limit raises ``ValueError``, which
would replace the typed error being built; and a 5,000-character value makes a message
unreadable. So values are cut to their first characters, and huge ints described by size.
"""

from __future__ import annotations

_SHOWN = 60
"""Most characters of one value a message quotes."""


def shown(value: object) -> str:
    """A short, always printable ``repr`` of ``value``: an int past the int/str limit is
    described by its size, a container holding one by its type."""
    if isinstance(value, int) and value.bit_length() > 4 * _SHOWN:
        return f"<int of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def quote(text: str) -> str:
    """``repr(text)``, cut to its first characters when long."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text)} characters)"
