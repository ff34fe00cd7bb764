"""StateProjector: a state built from an initial value and a sequence of deltas."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from nerv_inner_universe.delta import JSON, Operation, Patch, apply
from nerv_inner_universe.nerv.arguments import (
    require_callable,
    require_int,
    require_seconds,
    require_str,
    str_tuple,
)
from nerv_inner_universe.nerv.callbacks import CallbackList, Remove, call_isolated
from nerv_inner_universe.nerv.clock import now
from nerv_inner_universe.nerv.errors import (
    InvalidDeltaError,
    UnknownNameError,
    UnpersistableDeltaError,
)


@runtime_checkable
class Delta(Protocol):
    """A change to a state. ``apply`` must return a new state and leave its argument alone."""

    def apply(self, state: Any) -> Any:
        """The state after this change."""
        ...

    def as_operations(self) -> list[Operation] | None:
        """This change as delta operations, or None if it cannot be expressed (or persisted)."""
        ...


def _json_patch(patch: dict[str, JSON]) -> dict[str, JSON]:
    """The patch checked (an object of JSON values) and copied, exactly as a ``Patch`` does."""
    return Patch("", patch).patch


@attrs.frozen
class PatchDelta:
    """A shallow merge of ``patch`` into a dict state, as upstream: top-level keys are replaced.

    The patch must be JSON (checked when built), so it can always be recorded.
    """

    patch: dict[str, JSON] = attrs.field(converter=_json_patch)

    def apply(self, state: Any) -> Any:
        """``{**state, **patch}``; the state must be a dict."""
        if not isinstance(state, dict):
            raise InvalidDeltaError(
                "a PatchDelta merges into a dict state, but the state is a "
                f"{type(state).__name__}; use an OperationsDelta or a FunctionDelta"
            )
        return {**state, **self.patch}

    def as_operations(self) -> list[Operation]:
        """One ``Patch`` at the document root."""
        return [Patch("", self.patch)]


@attrs.frozen
class FunctionDelta:
    """A change made by a function of the state. It is code, so it cannot be persisted."""

    fn: Callable[[Any], Any]

    def apply(self, state: Any) -> Any:
        """``fn`` of a deep copy of the state, so a function that edits in place is safe."""
        return self.fn(copy.deepcopy(state))

    def as_operations(self) -> None:
        """None: a function has no operations."""


def _operation_list(operations: Iterable[Operation]) -> tuple[Operation, ...]:
    return tuple(operations)


@attrs.frozen
class OperationsDelta:
    """A change given as delta operations (RFC 6901 paths); what a recorded delta replays as."""

    operations: tuple[Operation, ...] = attrs.field(converter=_operation_list)

    def apply(self, state: Any) -> Any:
        """The operations applied in order."""
        return apply(state, list(self.operations))

    def as_operations(self) -> list[Operation]:
        """The operations themselves."""
        return list(self.operations)


def _delta_from_operations(operations: Sequence[Operation]) -> Delta:
    """The delta a recorded operation list replays as: a root ``Patch`` is a PatchDelta again."""
    if len(operations) == 1 and isinstance(operations[0], Patch) and operations[0].path == "":
        return PatchDelta(operations[0].patch)
    return OperationsDelta(operations)


def _tag_tuple(tags: Iterable[str]) -> tuple[str, ...]:
    return str_tuple("tags", tags, error=InvalidDeltaError)


def _description(_metadata: object, _attribute: attrs.Attribute[str], value: str) -> None:
    require_str("description", value, error=InvalidDeltaError)


def _source(_metadata: object, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
    require_str("source", value, optional=True, error=InvalidDeltaError)


def _timestamp(_metadata: object, _attribute: attrs.Attribute[float], value: float) -> None:
    require_seconds("timestamp", value, error=InvalidDeltaError)


def _index(_metadata: object, _attribute: attrs.Attribute[int], value: int) -> None:
    require_int("index", value, minimum=0, error=InvalidDeltaError)


@attrs.frozen(kw_only=True)
class DeltaMetadata:
    """What is known about an applied delta besides the change itself.

    Checked when built (``InvalidDeltaError`` names the field): ``description`` a str,
    ``source`` a str or None, ``tags`` an iterable of str (not one str), ``timestamp`` finite
    epoch seconds, ``index`` an int >= 0. ``remote`` is True for a delta another process
    applied and this projector learnt of through `StateProjector.apply_remote`; it says where
    the delta came from, not what it is, so equality ignores it.
    """

    description: str = attrs.field(default="", validator=_description)
    source: str | None = attrs.field(default=None, validator=_source)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tag_tuple)
    timestamp: float = attrs.field(validator=_timestamp)
    index: int = attrs.field(validator=_index)
    remote: bool = attrs.field(default=False, eq=False)


DeltaCallback = Callable[[int, Delta, DeltaMetadata, list[Operation] | None], object]
"""Told ``(index, delta, metadata, operations)``; operations is None for a FunctionDelta."""


def _as_delta(delta: Delta | dict[str, JSON] | Callable[[Any], Any]) -> Delta:
    if isinstance(delta, Delta):
        return delta
    if isinstance(delta, dict):
        return PatchDelta(delta)
    if callable(delta):
        return FunctionDelta(delta)
    raise InvalidDeltaError(
        f"cannot apply a {type(delta).__name__} as a delta; pass a dict (a patch), a function "
        "of the state, or a PatchDelta/FunctionDelta/OperationsDelta"
    )


class StateProjector:
    """The current state is kept up to date as deltas arrive; past states are recomputed.

    Deltas are applied one at a time: guards see each before it takes effect and may veto it by
    raising (the host writes ahead to its recorder there); observers see it after. The state is
    never changed in place, and everything handed out is a copy.
    """

    def __init__(self, initial_state: Any) -> None:
        self._lock = threading.Lock()
        # Re-entrant so an observer may apply a delta; it then follows the one it observed.
        self._sequence = threading.RLock()
        self._initial = copy.deepcopy(initial_state)
        self._state = self._initial
        self._deltas: list[tuple[Delta, DeltaMetadata]] = []
        self._next_index = 0
        self._projections: dict[str, Callable[[Any], Any]] = {"default": lambda state: state}
        self._guards: CallbackList[DeltaCallback] = CallbackList()
        self._observers: CallbackList[DeltaCallback] = CallbackList()

    def add_guard(self, guard: DeltaCallback) -> Remove:
        """Call ``guard(index, delta, metadata, operations)`` before a delta takes effect.

        Raising vetoes the delta (and propagates). A guard must not apply deltas here.
        """
        require_callable("guard", guard)
        return self._guards.add(guard)

    def add_observer(self, observer: DeltaCallback) -> Remove:
        """Call ``observer(index, delta, metadata, operations)`` after each delta, in order.

        An observer's error is logged, never raised: the delta has been applied.
        """
        require_callable("observer", observer)
        return self._observers.add(observer)

    def apply_delta(
        self,
        delta: Delta | dict[str, JSON] | Callable[[Any], Any],
        description: str = "",
        source: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> int:
        """Apply a delta (a dict is a PatchDelta, a function a FunctionDelta); return its index.

        The delta is applied before the guards run, so one that fails changes nothing and is
        never recorded. A bad ``delta``, ``description``, ``source`` or ``tags`` raises
        ``InvalidDeltaError`` naming it (see ``DeltaMetadata``).
        """
        change = _as_delta(delta)
        with self._sequence:
            with self._lock:
                index, state = self._next_index, self._state
            metadata = DeltaMetadata(
                description=description,
                source=source,
                tags=() if tags is None else tags,
                timestamp=now(),
                index=index,
            )
            new_state = change.apply(state)
            operations = change.as_operations()
            for guard in self._guards:
                guard(index, change, metadata, operations)
            self._append(change, metadata, new_state, operations)
        return index

    def apply_remote(self, operations: Sequence[Operation], metadata: DeltaMetadata) -> int:
        """Apply a delta another process recorded, without guards (it is recorded already);
        observers are told it with ``metadata.remote`` True. Returns its index here:
        ``metadata.index``, or the next free index when that is taken (two processes that
        applied deltas at the same time each numbered theirs alike).

        Deltas from several processes are applied in the order they arrive, which is the order
        they were recorded in unless two were applied at the same moment; a late joiner's
        replay follows the recorded order. Thread-safe; waits for a delta in progress. The
        operations' errors (the delta layer's) propagate and change nothing.
        """
        change = _delta_from_operations(list(operations))
        with self._sequence:
            with self._lock:
                index, state = max(metadata.index, self._next_index), self._state
            told = attrs.evolve(metadata, index=index, remote=True)
            self._append(change, told, change.apply(state), list(operations))
        return index

    def _append(
        self,
        change: Delta,
        metadata: DeltaMetadata,
        new_state: Any,
        operations: list[Operation] | None,
    ) -> None:
        """Make ``new_state`` current after ``change``, then tell the observers (call with
        ``_sequence`` held)."""
        index = metadata.index
        with self._lock:
            self._deltas.append((change, metadata))
            self._state = new_state
            self._next_index = index + 1
        for observer in self._observers:
            call_isolated(
                "delta_observer_failed",
                observer,
                index,
                change,
                metadata,
                operations,
                index=index,
            )

    def restore(self, deltas: Sequence[tuple[int, DeltaMetadata, Sequence[Operation]]]) -> None:
        """Replace the history with recorded deltas ``(index, metadata, operations)``.

        Used by replay, so guards and observers are not told: they were when it first happened.
        """
        history = [(_delta_from_operations(ops), metadata) for _, metadata, ops in deltas]
        state = self._initial
        for change, _ in history:
            state = change.apply(state)
        with self._sequence, self._lock:
            self._deltas = history
            self._state = state
            self._next_index = deltas[-1][0] + 1 if deltas else 0

    def add_projection(self, name: str, fn: Callable[[Any], Any]) -> None:
        """Register ``fn(state) -> view`` as projection ``name`` ("default" is the state itself)."""
        require_str("name", name)
        require_callable("fn", fn)
        with self._lock:
            self._projections[name] = fn

    def project(self, name: str = "default", until: int | None = None) -> Any:
        """Projection ``name`` of the current state, or of the state before delta ``until``.

        ``name`` is a str and ``until`` an int or None, else ``InvalidArgumentError``.
        """
        require_str("name", name)
        require_int("until", until, optional=True)
        with self._lock:
            fn = self._projections.get(name)
            known = sorted(self._projections)
            state, initial, deltas = self._state, self._initial, list(self._deltas)
        if fn is None:
            raise UnknownNameError(
                f"no projection {name!r}; register it with add_projection (known: {known})"
            )
        if until is not None:
            state = initial
            for change, metadata in deltas:
                if metadata.index >= until:
                    break
                state = change.apply(state)
        return fn(copy.deepcopy(state))

    def get_current_state(self) -> Any:
        """A deep copy of the current state."""
        with self._lock:
            return copy.deepcopy(self._state)

    def get_delta_history(
        self, with_tags: Iterable[str] | None = None
    ) -> list[tuple[int, DeltaMetadata]]:
        """``(index, metadata)`` of each delta, oldest first; with tags, those with any of them."""
        wanted = None if with_tags is None else set(str_tuple("with_tags", with_tags))
        with self._lock:
            deltas = list(self._deltas)
        return [
            (metadata.index, metadata)
            for _, metadata in deltas
            if wanted is None or wanted.intersection(metadata.tags)
        ]

    def reset_to_initial(self) -> None:
        """Forget every delta and return to the initial state.

        Refused while guards are installed: a reset would bypass them, and a recorded stream
        only grows (apply a delta that restores the initial state instead).
        """
        with self._sequence, self._lock:
            if self._guards:
                raise UnpersistableDeltaError(
                    "reset_to_initial cannot be recorded: this projector is guarded (persistence "
                    "is on) and a recorded stream only grows; apply a delta back to the initial "
                    "state instead"
                )
            self._deltas = []
            self._state = self._initial
            self._next_index = 0
