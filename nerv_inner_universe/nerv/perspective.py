"""PerspectiveAware: one piece of data, several named views of it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from nerv_inner_universe.nerv.arguments import require_callable, require_str
from nerv_inner_universe.nerv.errors import UnknownNameError

S = TypeVar("S")


class PerspectiveAware(Generic[S]):
    """Holds data and named transforms of it, so each consumer sees the shape it needs.

    Unlike the upstream reference, an unknown perspective name is an error rather than a silent
    fallback to the raw data: a typo should not look like a working view.
    """

    def __init__(self, data: S) -> None:
        self._lock = threading.Lock()
        self._data = data
        self._perspectives: dict[str, Callable[[S], Any]] = {}

    def add_perspective(self, name: str, fn: Callable[[S], Any]) -> None:
        """Register ``fn(data) -> view`` as perspective ``name`` (replacing one of that name)."""
        require_str("name", name)
        require_callable("fn", fn)
        with self._lock:
            self._perspectives[name] = fn

    def view(self, name: str | None = None) -> Any:
        """The data through perspective ``name``, or the data itself when ``name`` is None."""
        require_str("name", name, optional=True)
        with self._lock:
            data = self._data
            fn = None if name is None else self._perspectives.get(name)
            known = sorted(self._perspectives)
        if name is None:
            return data
        if fn is None:
            raise UnknownNameError(
                f"no perspective {name!r}; register it with add_perspective (known: {known})"
            )
        return fn(data)

    def get_available_perspectives(self) -> list[str]:
        """Registered perspective names, in registration order."""
        with self._lock:
            return list(self._perspectives)

    def update_data(self, data: S) -> None:
        """Replace the data; the perspectives stay."""
        with self._lock:
            self._data = data
