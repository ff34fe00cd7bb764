"""Registered callbacks: removable by id, and one failing callback never stops the others or
the connection that runs them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Generic, NewType, ParamSpec

from ..log import get_logger

log = get_logger(__name__)

P = ParamSpec("P")
CallbackId = NewType("CallbackId", int)
_ids = itertools.count(1)


class Callbacks(Generic[P]):
    """The callbacks registered for one kind of event; a callback that raises is logged and the
    others still run."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._callbacks: dict[CallbackId, Callable[P, object]] = {}

    def add(self, callback: Callable[P, object]) -> CallbackId:
        """Registers ``callback``; the returned id removes it again."""
        callback_id = CallbackId(next(_ids))
        self._callbacks[callback_id] = callback
        return callback_id

    def remove(self, callback_id: CallbackId) -> bool:
        """Returns whether the id was registered here."""
        return self._callbacks.pop(callback_id, None) is not None

    def __bool__(self) -> bool:
        """Whether any callback is registered."""
        return bool(self._callbacks)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks.values()):
            try:
                callback(*args, **kwargs)
            except Exception:
                log.exception("callback_failed", callback=self._what)
