"""Callbacks: a thread-safe list of them, and calling one that must not break its caller."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

F = TypeVar("F", bound=Callable[..., object])

Remove = Callable[[], None]
"""Takes back what an ``add``/``subscribe`` call did; calling it again does nothing."""


class CallbackList(Generic[F]):
    """Callbacks in registration order.

    The list is copied on write, so iterating is a lock-free snapshot: a callback may add or
    remove callbacks (even itself) while the list is being called without deadlock or skipping.
    Each registration gets its own token, so adding one function twice needs two removals.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: tuple[tuple[object, F], ...] = ()
        self.callbacks: tuple[F, ...] = ()
        """The callbacks now, in order: a tuple replaced whole with every change, so a loop
        over it needs no lock (what iterating the list gives, without a method call: for
        loops that run for every event)."""

    def add(self, callback: F) -> Remove:
        """Append ``callback``; return the function that removes this registration."""
        token = object()
        with self._lock:
            self._set((*self._entries, (token, callback)))

        def remove() -> None:
            with self._lock:
                self._set(tuple(e for e in self._entries if e[0] is not token))

        return remove

    def _set(self, entries: tuple[tuple[object, F], ...]) -> None:
        self._entries = entries
        self.callbacks = tuple(callback for _, callback in entries)

    def __iter__(self) -> Iterator[F]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self._entries)


def callable_name(fn: object) -> str:
    """A readable name for a callback in logs: ``module.qualname`` when it has one."""
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None:
        return repr(fn)
    return f"{getattr(fn, '__module__', '?')}.{qualname}"


def call_isolated(
    log_event: str, callback: Callable[..., object], *args: object, **context: object
) -> Exception | None:
    """Call ``callback(*args)``; if it raises, log ``log_event`` and return the error.

    For callbacks told about something that has already happened: their failure must neither
    undo it, nor make its caller believe it failed (and retry it), nor keep the other callbacks
    from being told. So the error is logged with ``context`` and handed back, never raised.
    """
    try:
        callback(*args)
    except Exception as error:
        log_failure(log_event, callback, **context)
        return error
    return None


def log_failure(log_event: str, callback: Callable[..., object], **context: object) -> None:
    """Log ``log_event`` for the error ``callback`` just raised (call it in the ``except``
    block: the traceback is the one being handled), as `call_isolated` does: for a caller
    that calls a callback in its own ``try`` (no keyword arguments built per call)."""
    log.exception(log_event, handler=callable_name(callback), **context)
