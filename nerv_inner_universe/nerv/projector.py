"""StateProjector: a state built from an initial value and a sequence of deltas."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from nerv_inner_universe.delta import JSON, DeltaError, Operation, Patch, apply
from nerv_inner_universe.log import get_logger
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
    InvalidArgumentError,
    InvalidDeltaError,
    ReplayError,
    UnknownNameError,
    UnpersistableDeltaError,
)

log = get_logger(__name__)


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
    the delta came from, not what it is, so equality ignores it. ``rebased`` is True when that
    remote delta went before deltas this projector had applied already (they were applied
    again after it: see `StateProjector.apply_remote`); equality ignores it too.
    """

    description: str = attrs.field(default="", validator=_description)
    source: str | None = attrs.field(default=None, validator=_source)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tag_tuple)
    timestamp: float = attrs.field(validator=_timestamp)
    index: int = attrs.field(validator=_index)
    remote: bool = attrs.field(default=False, eq=False)
    rebased: bool = attrs.field(default=False, eq=False)


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


def _replayed(
    deltas: Sequence[RecordedDelta], state: Any
) -> tuple[list[tuple[Delta, DeltaMetadata]], Any, list[NoOp]]:
    """``deltas`` as history, ``state`` after them (each applied once) and their no-ops."""
    history = [(_delta_from_operations(ops), metadata) for _, metadata, ops in deltas]
    noops: list[NoOp] = []
    for change, metadata in history:
        state, error = _attempt(change, state)
        if error is not None:
            noops.append(NoOp(metadata.index, error))
    return history, state, noops


@attrs.define
class _Entry:
    """A delta after the last point where this projector's order and the log's agree."""

    change: Delta
    metadata: DeltaMetadata
    operations: list[Operation] | None
    label: int
    """The index it was applied (so recorded) under here, or numbered with by its writer."""
    position: int | None
    """Its place in the log once known (`StateProjector.confirm`, `apply_remote`)."""
    tentative: bool
    """Applied here and recorded, its place in the log not known yet."""
    after: Any
    """The state after it."""


@attrs.frozen
class NoOp:
    """A recorded delta that did not apply at its place in the log: its index and the error
    text (the delta layer's, or ``InvalidDeltaError``'s). It holds its place and changes
    nothing."""

    index: int
    error: str


RecordedDelta = tuple[int, DeltaMetadata, Sequence[Operation]]
"""A recorded delta as `StateProjector.restore` takes it: ``(index, metadata, operations)``."""

EarlierDeltas = Callable[[], Sequence[RecordedDelta]]
"""Reads the recorded deltas a `ProjectorCheckpoint` results from, oldest first."""


def _copied(value: Any) -> Any:
    return copy.deepcopy(value)


def _count(_checkpoint: object, attribute: attrs.Attribute[int], value: int) -> None:
    require_int(attribute.name, value, minimum=0)


@attrs.frozen
class ProjectorCheckpoint:
    """A projector's state after the first ``deltas`` recorded deltas of its stream, as its
    backend computed it: `StateProjector.restore` goes on from it. ``next_index`` is the index
    the next delta is numbered from; ``noops`` how many of those deltas did not apply at their
    place (they are not reported one by one: see ``restore``). The counts are ints >= 0, else
    ``InvalidArgumentError`` naming the field; ``state`` is copied.
    """

    state: Any = attrs.field(converter=_copied)
    next_index: int = attrs.field(validator=_count)
    deltas: int = attrs.field(validator=_count)
    noops: int = attrs.field(default=0, validator=_count)


def _attempt(change: Delta, state: Any) -> tuple[Any, str | None]:
    """The state after ``change`` and None, or ``state`` unchanged and the error text when its
    operations do not fit there (a remove of a key another process removed first): the log is
    the truth, so a recorded delta that does not apply is a no-op, in replay and live alike."""
    try:
        return change.apply(state), None
    except (DeltaError, InvalidDeltaError) as error:
        return state, str(error)


def _applied(change: Delta, state: Any, index: int, *, note: bool = True) -> Any:
    """`_attempt`'s state; a no-op is logged (``delta_not_applicable``) when ``note``."""
    after, error = _attempt(change, state)
    if error is not None and note:
        log.warning("delta_not_applicable", index=index, error=error)
    return after


class StateProjector:
    """The current state is kept up to date as deltas arrive; past states are recomputed.

    Deltas are applied one at a time: guards see each before it takes effect and may veto it by
    raising (the host writes ahead to its recorder there); observers see it after. The state is
    never changed in place, and everything handed out is a copy.

    The order of a recorded stream is its log's. Once `follow_log_order` is on, a delta applied
    here is tentative until `confirm` gives its log position; a remote delta placed before a
    tentative one (`apply_remote` with its position) rebases: the deltas after the last point
    where the two orders agree are applied again in log order. So once a projector has been
    told every recorded delta, its state is what `restore` of the log gives.
    """

    def __init__(self, initial_state: Any) -> None:
        self._lock = threading.Lock()
        # Re-entrant so an observer may apply a delta; it then follows the one it observed.
        self._sequence = threading.RLock()
        self._initial = copy.deepcopy(initial_state)
        self._state = self._initial
        self._deltas: list[tuple[Delta, DeltaMetadata]] = []
        """The deltas whose place in the log is settled, in log order."""
        self._base = self._initial
        """The state after ``_deltas``."""
        self._start = self._initial
        """The state ``_deltas`` start from: the initial one, or a checkpoint's (`restore`)."""
        self._start_index = 0
        """The index the first of ``_deltas`` is numbered from at the least."""
        self._earlier: tuple[EarlierDeltas, ProjectorCheckpoint] | None = None
        """Reads the deltas before ``_deltas`` (up to the checkpoint) while not loaded."""
        self._tail: list[_Entry] = []
        """The deltas after ``_deltas``: from the oldest tentative one on (see `confirm`)."""
        self._ordered = False
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

        An observer's error is logged, never raised: the delta has been applied. A rebase
        (`apply_remote`) tells the remote delta once, with ``metadata.rebased`` True, after the
        state is rebased; the deltas applied again are not told again.
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
        ``InvalidDeltaError`` naming it (see ``DeltaMetadata``). With `follow_log_order` on, a
        delta with operations is tentative until `confirm`ed (a FunctionDelta is never
        recorded, so it stays where it was applied).
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
            tentative = self._ordered and operations is not None
            self._append(_Entry(change, metadata, operations, index, None, tentative, new_state))
        return index

    def apply_remote(
        self,
        operations: Sequence[Operation],
        metadata: DeltaMetadata,
        position: int | None = None,
    ) -> int:
        """Apply a delta another process recorded, without guards (it is recorded already);
        observers are told it with ``metadata.remote`` True. Returns its index here:
        ``metadata.index``, or the next free index when that is taken (two processes that
        applied deltas at the same time each numbered theirs alike).

        ``position`` is its place in the log (an int rising with the log; None: after every
        delta known here). It goes after the deltas with a lower position and before every
        tentative one (remote deltas must be given in log order, so a tentative delta, not yet
        back from the log, is later in it). Going before deltas applied here already is a
        rebase: they are applied again after it, in log order, and renumbered as replay
        numbers them; observers are told the remote delta with ``metadata.rebased`` True.

        A delta whose operations do not fit the state at its place (the delta layer's errors,
        ``InvalidDeltaError``) is kept in the history as a no-op and logged
        (``delta_not_applicable``), as `restore` does: the log is the truth, so live and
        replayed state agree. The same holds for a delta applied again in a rebase.
        Thread-safe; waits for a delta in progress.
        """
        change = _delta_from_operations(list(operations))
        ops = list(operations)
        with self._sequence:
            with self._lock:
                at = self._place(position)
                entry = _Entry(change, metadata, ops, metadata.index, position, False, None)
                told = self._rebase(at, entry)
                self._settle()
            self._tell(change, told, ops)
        return told.index

    def follow_log_order(self, enabled: bool = True) -> None:
        """Whether this projector's recorded deltas wait for `confirm` (the host turns it on
        when it will report the log positions of the deltas recorded here, and off when it
        stops; off, the tentative deltas stay where they are).

        The deltas kept for a rebase are the oldest tentative one and all after it: the deltas
        applied anywhere while the oldest unconfirmed one here makes its round trip to the
        log. Once it is confirmed they are settled and dropped from that buffer.
        """
        with self._sequence, self._lock:
            self._ordered = enabled
            if not enabled:
                for entry in self._tail:
                    entry.tentative = False
                self._settle()

    @property
    def rebase_buffer(self) -> int:
        """How many deltas are kept for a rebase: 0 when none applied here awaits `confirm`."""
        with self._lock:
            return len(self._tail)

    def confirm(self, index: int, position: int) -> bool:
        """Delta ``index`` applied here has log position ``position``; True when it was
        tentative (False for another index: not applied here, or settled already).

        Give the confirmation in log order with the remote deltas (`apply_remote`), so that
        every remote delta before it has been placed before it.
        """
        require_int("index", index)
        require_int("position", position)
        with self._sequence, self._lock:
            for entry in self._tail:
                if entry.tentative and entry.label == index:
                    entry.tentative = False
                    entry.position = position
                    self._settle()
                    return True
        return False

    def _place(self, position: int | None) -> int:
        """Where in the tail a remote delta at ``position`` goes (call with ``_lock`` held)."""
        for at, entry in enumerate(self._tail):
            if entry.tentative or (
                position is not None and entry.position is not None and entry.position > position
            ):
                return at
        return len(self._tail)

    def _rebase(self, at: int, entry: _Entry) -> DeltaMetadata:
        """Put remote ``entry`` at ``at`` in the tail, apply it and the deltas after it again in
        this order, numbered as replay numbers them; return its metadata as told (call with
        ``_lock`` held). Nothing changes if a delta raises something else than a delta error."""
        if at:
            state, next_index = self._tail[at - 1].after, self._tail[at - 1].metadata.index + 1
        else:
            state = self._base
            next_index = self._deltas[-1][1].index + 1 if self._deltas else self._start_index
        if at == len(self._tail):
            next_index = max(next_index, self._next_index)
        rebased = at < len(self._tail)
        redone: list[tuple[DeltaMetadata, Any]] = []
        for current in [entry, *self._tail[at:]]:
            index = max(current.label, next_index)
            state = _applied(current.change, state, index)
            redone.append((attrs.evolve(current.metadata, index=index), state))
            next_index = index + 1
        later = [entry, *self._tail[at:]]
        for current, (metadata, after) in zip(later, redone, strict=True):
            current.metadata, current.after = metadata, after
        entry.metadata = attrs.evolve(entry.metadata, remote=True, rebased=rebased)
        self._tail[at:] = later
        self._state = state
        self._next_index = next_index
        if rebased:
            log.info("deltas_rebased", remote_index=entry.metadata.index, reapplied=len(later) - 1)
        return entry.metadata

    def _append(self, entry: _Entry) -> None:
        """Make ``entry`` current, then tell the observers (call with ``_sequence`` held)."""
        with self._lock:
            self._tail.append(entry)
            self._state = entry.after
            self._next_index = entry.metadata.index + 1
            self._settle()
        self._tell(entry.change, entry.metadata, entry.operations)

    def _settle(self) -> None:
        """Move the tail's leading deltas that are not tentative to the settled history: no
        remote delta can go before them any more (call with ``_lock`` held)."""
        settled = 0
        for entry in self._tail:
            if entry.tentative:
                break
            settled += 1
        if settled:
            self._deltas.extend((entry.change, entry.metadata) for entry in self._tail[:settled])
            self._base = self._tail[settled - 1].after
            del self._tail[:settled]

    def _tell(
        self, change: Delta, metadata: DeltaMetadata, operations: list[Operation] | None
    ) -> None:
        index = metadata.index
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

    def _history(self) -> list[tuple[Delta, DeltaMetadata]]:
        """Every delta in log order as far as known (call with ``_lock`` held)."""
        return [*self._deltas, *((entry.change, entry.metadata) for entry in self._tail)]

    def restore(
        self,
        deltas: Sequence[RecordedDelta],
        *,
        checkpoint: ProjectorCheckpoint | None = None,
        earlier: EarlierDeltas | None = None,
    ) -> list[NoOp]:
        """Replace the history with recorded deltas ``(index, metadata, operations)``; return
        the ones that did not apply, oldest first.

        Used by replay, so guards and observers are not told: they were when it first happened.
        A delta whose operations do not fit the state at its place is a no-op, as in
        `apply_remote`; it is not logged here: the caller reports the returned `NoOp`s (it
        knows where each delta is stored). Each delta is applied once.

        With ``checkpoint``, ``deltas`` are the ones after it (at its stream's head) and are
        applied to its state; ``earlier`` (required with a checkpoint of deltas) reads the
        deltas it results from, called once, only when a read needs them: `project` with
        ``until`` below ``checkpoint.next_index``, or `get_delta_history`. They are checked
        then: applied in order from the initial state they must give the checkpoint's state
        and count, else that read raises ReplayError (or what ``earlier`` raises). Their
        no-ops are neither returned nor logged (``checkpoint.noops`` counts them; the host
        reported each when it was recorded). Restoring at the head so costs the deltas since
        the checkpoint, however long the stream. Without a checkpoint, ``earlier`` is ignored.
        """
        if checkpoint is not None and checkpoint.deltas and earlier is None:
            raise InvalidArgumentError(
                f"a checkpoint of {checkpoint.deltas} deltas needs `earlier` to read them"
            )
        start = self._initial if checkpoint is None else checkpoint.state
        start_index = 0 if checkpoint is None else checkpoint.next_index
        history, state, noops = _replayed(deltas, start)
        with self._sequence, self._lock:
            self._deltas = history
            self._tail = []
            self._start, self._start_index = start, start_index
            self._state = self._base = state
            self._next_index = deltas[-1][0] + 1 if deltas else start_index
            self._earlier = None
            if checkpoint is not None and checkpoint.deltas and earlier is not None:
                self._earlier = (earlier, checkpoint)
        return noops

    @property
    def fully_loaded(self) -> bool:
        """False while the deltas before a restored checkpoint wait to be read (`restore`)."""
        with self._lock:
            return self._earlier is None

    def _load_earlier(self) -> None:
        """Read and check the deltas before the restored checkpoint, once (see `restore`)."""
        with self._sequence:
            with self._lock:
                pending = self._earlier
            if pending is None:
                return
            read, checkpoint = pending
            earlier = list(read())
            history, state, _ = _replayed(earlier, self._initial)
            if len(history) != checkpoint.deltas or state != checkpoint.state:
                raise ReplayError(
                    f"the {len(history)} deltas before the checkpoint do not give its state "
                    f"after {checkpoint.deltas} deltas (was one redacted since it was read?); "
                    "restore again to read the stream as it is now"
                )
            with self._lock:
                self._deltas[:0] = history
                self._start, self._start_index = self._initial, 0
                self._earlier = None

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
            before_start = until is not None and until < self._start_index
        if fn is None:
            raise UnknownNameError(
                f"no projection {name!r}; register it with add_projection (known: {known})"
            )
        if before_start:
            self._load_earlier()
        with self._lock:
            state, start, deltas = self._state, self._start, self._history()
        if until is not None:
            state = start
            for change, metadata in deltas:
                if metadata.index >= until:
                    break
                state = _applied(change, state, metadata.index, note=False)
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
        self._load_earlier()
        with self._lock:
            deltas = self._history()
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
            self._deltas, self._tail = [], []
            self._state = self._base = self._start = self._initial
            self._next_index = self._start_index = 0
            self._earlier = None
