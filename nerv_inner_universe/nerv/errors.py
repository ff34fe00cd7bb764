"""Errors of the NERV core.

Every public call of this layer raises a :class:`NervError` subclass whose message says what was
wrong and what to do. Errors of the delta layer (``DeltaError``, e.g. a state that is not JSON)
pass through unchanged: they already say what was wrong, and wrapping them would only hide which
check failed. A bad setting raises the configuration's one error,
`nerv_inner_universe.config.ConfigError`.
"""

from __future__ import annotations

from typing import ClassVar


class NervError(Exception):
    """Base class of every error the NERV core raises."""


class InvalidArgumentError(NervError, ValueError):
    """A public call got an argument of the wrong type or value; the message names it."""


class InvalidEventError(InvalidArgumentError):
    """An event is malformed: an empty type, a type that is neither a string nor an enum
    member, a non-str id or source, a timestamp that is no finite number, metadata that is no
    dict."""


class InvalidDeltaError(InvalidArgumentError):
    """A delta cannot be applied (wrong kind of object, a patch on a state that is no dict, or
    malformed metadata: description, source, tags)."""


class UnknownVersionError(NervError, LookupError):
    """A version id (or a point in time) names no version of the store."""


class UnknownNameError(NervError, LookupError):
    """A projection or perspective name was never registered."""


class ConcurrencyConflictError(NervError):
    """A commit expected a parent that is no longer the head: reload and retry.

    ``current`` is the head's version id when it is known (None: an empty timeline, or a
    backend that did not say). By the time a runtime's TemporalStore raises it, the store has
    caught up with that head: read ``get()``/``get_current_version_id()`` and commit again.
    """

    def __init__(self, message: str, current: str | None = None) -> None:
        super().__init__(message)
        self.current = current


class RecordConflictError(NervError):
    """An id (or stream index) was recorded before with different content."""


class ReplayError(NervError):
    """Recorded history is inconsistent (a broken parent chain or a wrong data hash)."""


class UnpersistableDeltaError(NervError):
    """A FunctionDelta was applied while persistence is on and the policy refuses it."""


class LifecycleError(NervError):
    """A call came at the wrong point of the runtime's life (before start, after stop)."""


class GraphError(NervError):
    """A graph write the backend refused (nothing changed); ``code`` is its stable code
    (None when it gave none). The subclasses name the codes a caller handles."""

    CODE: ClassVar[str | None] = None

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code if code is not None else self.CODE


class GraphNotFoundError(GraphError, LookupError):
    """``not_found``: the entity or relation (or a relation's endpoint) does not exist."""

    CODE = "not_found"


class GraphAlreadyExistsError(GraphError):
    """``already_exists``: the id is taken by an entity or relation with other content."""

    CODE = "already_exists"


class GraphInUseError(GraphError):
    """``in_use``: relations still reference the entity; delete them first."""

    CODE = "in_use"


class GraphPermissionError(GraphError, PermissionError):
    """``permission_denied``: the caller neither owns the row nor is an admin (or lacks the
    writer role)."""

    CODE = "permission_denied"


class InvalidGraphArgumentError(GraphError, InvalidArgumentError):
    """``invalid_argument``: a malformed id, type name, metadata or request."""

    CODE = "invalid_argument"
