"""Numbers from text without the traps of ``int()``.

``int()`` takes any Unicode digit (``"٢"`` is 2), ``_`` separators and surrounding spaces,
and refuses 4,300 digits and more with a bare ``ValueError``; ``str.isdigit()`` accepts
``"²"``, which ``int()`` then refuses. The wire formats this client reads use plain ASCII
digits only, so that is all ``ascii_int`` accepts, and it checks the length before converting.
"""

from __future__ import annotations

import re

_DIGITS = {10: re.compile(r"[0-9]+"), 16: re.compile(r"[0-9a-fA-F]+")}


def ascii_int(text: str, max_digits: int, base: int = 10) -> int | None:
    """The value of ``text`` if it is 1 to ``max_digits`` ASCII digits of ``base`` (10 or
    16; no sign, prefix, separator or space), else None."""
    if len(text) > max_digits or not _DIGITS[base].fullmatch(text):
        return None
    return int(text, base)
