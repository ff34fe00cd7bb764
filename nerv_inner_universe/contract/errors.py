"""The module's refusals: `ErrorCode` mirrors the Rust `Code` (`spacetime/rules/src/error.rs`),
and `Refusal.parse` turns a reducer's ``"<code>: <message>"`` text into the two parts.

Every reducer validates first and fails with ``Err("<code>: <message>")``; the server reports
that text as the failed call's message. A test compares `ErrorCode` with the Rust source, and
another makes the real module refuse a call with every code.
"""

from __future__ import annotations

import enum
import re

import attrs

from nerv_inner_universe.client import ReducerFailedError


class ErrorCode(enum.StrEnum):
    """The stable code before the ``: `` of a reducer error; the value is the wire text."""

    INVALID_ARGUMENT = "invalid_argument"
    """The input is malformed: bad id, empty type name, invalid JSON, path or limit."""
    NOT_FOUND = "not_found"
    """A row the call refers to does not exist."""
    ALREADY_EXISTS = "already_exists"
    """The id exists with different content."""
    PERMISSION_DENIED = "permission_denied"
    """The caller is neither the row's owner nor an admin."""
    IN_USE = "in_use"
    """The row is still referenced (an entity with relations)."""
    CONFLICT = "conflict"
    """Optimistic concurrency: the timeline's head moved; reload and retry."""
    INTEGRITY_ERROR = "integrity_error"
    """The data does not match its declared hash, or a stored event's position or a tracking
    record is taken already."""
    SNAPSHOT_REQUIRED = "snapshot_required"
    """The version must carry a full snapshot; send it again with one."""
    RESOURCE_EXHAUSTED = "resource_exhausted"
    """A configured limit is reached (``max_connections``, the 1,000 config keys); try again
    later or ask an admin."""
    REDACTED = "redacted"
    """An admin redacted the row with this id: it is not written again (not even identically),
    nor redacted twice."""
    RATE_LIMITED = "rate_limited"
    """The caller's write budget (``write_budget_*``) for the current window is used up; the
    message says when the window resets (`Refusal.resets_at`)."""
    UNAVAILABLE = "unavailable"
    """The database is closed for writes while its server stops, or while an import is under
    way; nothing changed: send the call again once the server is back or the import has
    finished (`ReducerRefusedError.retryable`)."""
    IMPORT_OPEN = "import_open"
    """An import is open but has sent no batch for `IMPORT_STALLED_AFTER_SECONDS`: it was
    refused or cut short, and stays open, so sending the call again does not help; import
    again into a fresh data dir, or wipe this one (`InnerUniverseController.import_export`)."""


_CODES = {code.value: code for code in ErrorCode}
_RESETS_AT = re.compile(r"\bresets_at_micros=(-?[0-9]{1,19})\b")


@attrs.frozen
class Refusal:
    """A reducer's error text split into its code and message. ``code`` is None for text
    that does not start with a known code (a panic, or a refusal by the server itself);
    ``message`` is then the whole text."""

    code: ErrorCode | None
    message: str

    @classmethod
    def parse(cls, text: str) -> Refusal:
        """``"conflict: timeline 'main' moved"`` gives
        ``Refusal(ErrorCode.CONFLICT, "timeline 'main' moved")``."""
        head, separator, rest = text.partition(": ")
        code = _CODES.get(head) if separator else None
        return cls(None, text) if code is None else cls(code, rest)

    @property
    def resets_at(self) -> float | None:
        """For ``rate_limited``: when the caller's budget window resets, in epoch seconds
        (server clock); None for other refusals."""
        if self.code is not ErrorCode.RATE_LIMITED:
            return None
        found = _RESETS_AT.search(self.message)
        return None if found is None else int(found.group(1)) / 1e6

    def __str__(self) -> str:
        return self.message if self.code is None else f"{self.code}: {self.message}"


class ReducerRefusedError(ReducerFailedError):
    """A reducer call of the contract failed; ``refusal`` says with which code and why.

    Raised by `ReducerCall.send` and `ReducerCall.send_http` instead of the client's
    ReducerFailedError (which it extends, so handlers of that still catch it). The call's
    transaction was rolled back: nothing changed.
    """

    def __init__(self, reducer: str, message: str) -> None:
        super().__init__(reducer, message)
        self.refusal = Refusal.parse(message)

    @property
    def code(self) -> ErrorCode | None:
        """The refusal's code; None when the text carried no known code."""
        return self.refusal.code

    @property
    def retryable(self) -> bool:
        """True for ``unavailable``: the database was closed for a stop, or an import was
        under way, and the same call may succeed once the server is back or the import has
        finished (the plugin and `eventsourcing` writers retry it within their budgets).
        Every other refusal is final, ``import_open`` too."""
        return self.refusal.code is ErrorCode.UNAVAILABLE
