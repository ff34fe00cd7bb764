"""Keeps tokens out of the log records of the libraries the client uses: with an application's
logging at DEBUG, `websockets` logs every handshake header (``> Authorization: Bearer …``) and
the frames it receives (the ``IdentityToken`` message holds a token), httpcore every response
header (a new identity's ``spacetime-identity-token``).

`protect` puts a filter on those libraries' loggers (once) that rewrites a record's message with
every token replaced by ``<redacted>``: any token the client has sent (it registers each one),
anything after ``Bearer``, a ``spacetime-identity-token`` header's or a ``"token"`` field's
value, and anything shaped like a JWT (also truncated, as `websockets` shortens frames).
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "<redacted>"

WEBSOCKETS_LOGGER = "websockets.client"
"""The logger the client's WebSocket connections log to."""

LOGGERS = (
    WEBSOCKETS_LOGGER,
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
"""The loggers that see headers or frames: a filter on a logger does not reach its children,
so each is named."""

_SHAPES = re.compile(
    r"(?P<keep>(?i:bearer)\s+|spacetime-identity-token'?,\s*b?'|\"token\"\s*:\s*\\?\")"
    r"[^\s'\"\\,)]+"
    r"|eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)*"
)


class _TokenFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def register(self, token: str) -> None:
        with self._lock:
            self._tokens = self._tokens | {token}  # readers see an old or a new set, whole

    def redact(self, text: str) -> str:
        for token in self._tokens:
            if token in text:
                text = text.replace(token, REDACTED)
        return _SHAPES.sub(lambda m: (m.group("keep") or "") + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a record that cannot format: logging reports it
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_FILTER = _TokenFilter()
_installed = threading.Event()
_install_lock = threading.Lock()


def protect(token: str | None) -> None:
    """Makes sure no record of the libraries in `LOGGERS` shows ``token`` (or any token)."""
    if token:
        _FILTER.register(token)
    if _installed.is_set():
        return
    with _install_lock:
        if not _installed.is_set():
            for name in LOGGERS:
                logging.getLogger(name).addFilter(_FILTER)
            _installed.set()


def redact(text: str) -> str:
    """``text`` with every token `protect` knows of, or recognises by its shape, replaced."""
    return _FILTER.redact(text)
