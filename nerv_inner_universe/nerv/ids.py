"""Fresh uuid4 ids, drawn from the operating system's random source 4 KiB at a time.

``str(uuid.uuid4())`` asks the kernel for 16 random bytes on every call (a system call per
published event); `new_id` takes them from a pool refilled with one call per 256 ids, and
writes the text directly. The ids are the same kind: 122 random bits from ``os.urandom``, the
version 4 and RFC 4122 variant bits set, in the canonical 8-4-4-4-12 lowercase hex form. A
forked child empties its pool, so parent and child never hand out the same bytes.
"""

from __future__ import annotations

import os
import threading

_POOL_BYTES = 4096


class _RandomPool:
    """Random bytes handed out 16 at a time, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def take16(self) -> bytes:
        with self._lock:
            at = self._at
            if at + 16 > len(self._pool):
                self._pool, at = os.urandom(_POOL_BYTES), 0
            self._at = at + 16
            return self._pool[at : at + 16]

    def empty(self) -> None:
        """Forgets the pool (in a forked child: its parent holds the same bytes)."""
        self._lock = threading.Lock()
        self._pool, self._at = b"", 0


_POOL = _RandomPool()
os.register_at_fork(after_in_child=_POOL.empty)


def uuid4_text(raw: bytes) -> str:
    """The version 4 UUID made of 16 random bytes ``raw``, as ``str(uuid.UUID(bytes=raw,
    version=4))`` writes it."""
    octets = bytearray(raw)
    octets[6] = (octets[6] & 0x0F) | 0x40  # version 4
    octets[8] = (octets[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = octets.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def new_id() -> str:
    """A fresh random (version 4) UUID as text, like ``str(uuid.uuid4())``."""
    return uuid4_text(_POOL.take16())
