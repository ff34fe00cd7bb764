"""Events and the EventBus that carries them.

Improves on the upstream reference bus in three ways that matter for persistence: handlers run
with no lock held (a handler may publish or subscribe), a failing handler is logged and kept in
``EventBus.errors`` instead of being swallowed, and events are accepted in one order that guards
and observers (the host's recorder and hooks) see exactly as the history does.
"""

from __future__ import annotations

import enum
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterable
from math import isfinite
from typing import Any

import attrs

from nerv_inner_universe.delta import JSON
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv.arguments import (
    json_object,
    require_callable,
    require_int,
    require_seconds,
    require_str,
    require_utf8,
)
from nerv_inner_universe.nerv.callbacks import CallbackList, Remove, callable_name, log_failure
from nerv_inner_universe.nerv.clock import now, whole_microseconds
from nerv_inner_universe.nerv.errors import InvalidEventError
from nerv_inner_universe.shown import shown

log = get_logger(__name__)

ALL_EVENTS = "*"
"""Subscribe to this type to receive every event."""

EventType = str | enum.Enum
Handler = Callable[["Event"], object]
Middleware = Callable[["Event"], "Event | None"]


def event_type_name(event_type: EventType) -> str:
    """Normalise an event type to the string that is stored: an enum member's *name*.

    Atlas uses an ``EventType`` enum, the Inner Universe string types; both persist as the
    name (``EventType.SYSTEM_INIT`` -> ``"SYSTEM_INIT"``), so a replayed event matches either.
    """
    if isinstance(event_type, enum.Enum):
        name = event_type.name
    elif isinstance(event_type, str) and event_type:
        name = event_type
    else:
        raise InvalidEventError(
            f"event type {shown(event_type)} is not a non-empty string or an enum member; "
            "pass e.g. 'ENTITY_CREATED' or EventType.SYSTEM_INIT"
        )
    require_utf8("event type", name, error=InvalidEventError)
    return name


# Each check below lets the usual value through first (ASCII text: UTF-8 can carry it); anything
# else gets the full check, which raises the error naming the field (replay builds hundreds of
# thousands of events). Every text field is checked the same way: a lone surrogate is refused.


def _stored_type_name(event_type: EventType) -> str:
    if type(event_type) is str and event_type.isascii() and event_type and event_type != ALL_EVENTS:
        return event_type  # the usual case, checked without the calls below
    name = event_type_name(event_type)
    if name == ALL_EVENTS:
        raise InvalidEventError(
            f"{ALL_EVENTS!r} only subscribes to every event; it is no event type"
        )
    return name


def _event_id(_event: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is str and value and value.isascii():
        return
    require_str("event id", value, non_empty=True, error=InvalidEventError)


def _event_time(value: float) -> float:
    """A finite float in whole microseconds (`whole_microseconds`); anything else as it is,
    for `_event_timestamp` to refuse (an int is whole seconds already)."""
    if type(value) is float and value - value == 0.0:  # finite: inf - inf and nan - nan are nan
        return whole_microseconds(value)
    return value


def _event_timestamp(_event: object, _attribute: attrs.Attribute[float], value: float) -> None:
    if type(value) is float and isfinite(value):
        return
    require_seconds("event timestamp", value, error=InvalidEventError)


def _event_source(
    _event: object, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None or (type(value) is str and value.isascii()):
        return
    require_str("event source", value, optional=True, error=InvalidEventError)


def _event_metadata(value: object) -> dict[str, JSON]:
    if (value is None or type(value) is dict) and not value:
        return {}
    return json_object("metadata", {} if value is None else value, error=InvalidEventError)


def _event_sender(
    _event: object, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None or (type(value) is str and value and value.isascii()):
        return
    require_str("event sender", value, optional=True, non_empty=True, error=InvalidEventError)


def _event_position(
    _event: object, _attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is None or (type(value) is int and value >= 1):
        return
    require_int("event position", value, minimum=1, optional=True, error=InvalidEventError)


def _event_replayed(_event: object, _attribute: attrs.Attribute[bool], value: bool) -> None:
    if type(value) is not bool:
        raise InvalidEventError(f"replayed must be a bool, not {type(value).__name__}")


@attrs.frozen
class Event:
    """Something that happened. Built once, never changed; ``replayed`` marks a recorded copy.

    Checked when built (``InvalidEventError`` names the field and why): ``id`` a non-empty
    str, ``type`` a non-empty str or enum member, ``timestamp`` finite epoch seconds (kept
    in whole microseconds: rounded, ties to even, as a store of microsecond times keeps it, so
    the event reads back equal),
    ``source`` a str or None (each text field, ``sender`` too, one UTF-8 can carry: a lone
    surrogate such as ``"\\udc00"`` is refused), ``metadata`` a dict of str
    to JSON values (copied; None is ``{}``; a non-JSON item raises ``InvalidEventError``
    naming ``metadata`` and the path, chained from the delta layer's ``InvalidValueError``).
    ``data`` is anything; a recorder checks that it is JSON when it writes it.

    ``source`` is whatever the publisher chose: anyone may name any source. What a store
    vouches for is set only on events read back from it (replayed, or delivered from another
    process), and is None on an event this process publishes: ``sender``, the identity the
    store authenticated as the event's writer (a non-empty str; for Inner Universe the
    writer's SpacetimeDB identity in hex), and ``position``, the event's place in the store's
    one total order of events (an int >= 1; for Inner Universe the ``event_log`` ``seq``:
    later events have larger positions). Neither is content: events that differ only in them
    are equal, and a recorder does not store them.
    """

    id: str = attrs.field(validator=_event_id)
    type: str = attrs.field(converter=_stored_type_name)
    data: Any
    timestamp: float = attrs.field(converter=_event_time, validator=_event_timestamp)
    source: str | None = attrs.field(default=None, validator=_event_source)
    metadata: dict[str, JSON] = attrs.field(factory=dict, converter=_event_metadata)
    replayed: bool = attrs.field(default=False, validator=_event_replayed)
    sender: str | None = attrs.field(default=None, validator=_event_sender, eq=False)
    position: int | None = attrs.field(default=None, validator=_event_position, eq=False)

    def as_replayed(self) -> Event:
        """This event marked ``replayed``: itself when it is already, else a copy with its own
        (shallow) copy of ``metadata``, as ``attrs.evolve(event, replayed=True)`` makes, without
        checking the fields again (they were checked when this event was built)."""
        if self.replayed:
            return self
        copy = object.__new__(Event)
        for name in _COPIED_FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "metadata", dict(self.metadata))
        object.__setattr__(copy, "replayed", True)
        return copy

    @classmethod
    def read_back(  # noqa: PLR0917 - one per field, positional: called per replayed event
        cls,
        event_id: str,
        event_type: str,
        data: Any,
        timestamp: float,
        source: str | None,
        metadata: dict[str, JSON],
        sender: str | None,
        position: int | None,
        replayed: bool,
    ) -> Event:
        """The event ``Event(id=event_id, type=event_type, ...)`` builds from these fields, for
        a recorder reading back what it stored (hundreds of thousands at a replay): the usual
        values (ASCII text, a finite float, an int >= 1, a bool) are checked inline and set
        without the constructor's calls; anything else goes through ``Event(...)`` and raises
        its ``InvalidEventError``. ``metadata`` must be a dict of JSON values made for this
        event alone (e.g. just parsed with `parse_json`): it is kept, not checked or copied
        again."""
        if (
            type(event_id) is str
            and type(event_type) is str
            and type(timestamp) is float
            and timestamp - timestamp == 0.0  # finite: inf - inf and nan - nan are nan
            and type(metadata) is dict
            and type(replayed) is bool
            and event_id
            and event_type
            and event_type != ALL_EVENTS
            and event_id.isascii()
            and event_type.isascii()
            and (source is None or (type(source) is str and source.isascii()))
            and (sender is None or (type(sender) is str and sender and sender.isascii()))
            and (position is None or (type(position) is int and position >= 1))
        ):
            event = _new_event(cls)
            _set_id(event, event_id)
            _set_type(event, event_type)
            _set_data(event, data)
            _set_timestamp(event, timestamp)
            _set_source(event, source)
            _set_metadata(event, metadata)
            _set_replayed(event, replayed)
            _set_sender(event, sender)
            _set_position(event, position)
            return event
        return cls(
            id=event_id,
            type=event_type,
            data=data,
            timestamp=timestamp,
            source=source,
            metadata=metadata,
            sender=sender,
            position=position,
            replayed=replayed,
        )

    @classmethod
    def create(
        cls,
        event_type: EventType,
        data: Any = None,
        source: str | None = None,
        metadata: dict[str, JSON] | None = None,
    ) -> Event:
        """A new event with a fresh uuid4 id, stamped now (whole microseconds)."""
        return cls(
            id=str(uuid.uuid4()),
            type=event_type,
            data=data,
            timestamp=now(),
            source=source,
            metadata=metadata,  # None becomes {} (the converter)
        )


_new_event = object.__new__
(
    _set_id,
    _set_type,
    _set_data,
    _set_timestamp,
    _set_source,
    _set_metadata,
    _set_replayed,
    _set_sender,
    _set_position,
) = (
    Event.__dict__[name].__set__  # the slots' own setters: the fastest way past frozen
    for name in (
        "id",
        "type",
        "data",
        "timestamp",
        "source",
        "metadata",
        "replayed",
        "sender",
        "position",
    )
)
"""What `Event.read_back` builds an event with."""

_COPIED_FIELDS = tuple(
    a.name for a in attrs.fields(Event) if a.name not in ("metadata", "replayed")
)
"""What `Event.as_replayed` copies as it is."""


@attrs.frozen
class HandlerFailure:
    """A handler (or observer) raised while handling ``event``; kept so it is never lost."""

    event: Event
    handler: str
    error: Exception


class EventBus:
    """Publish/subscribe with middleware, bounded history, guards and observers.

    Publishing runs, in order: middleware (may rewrite or drop the event; skipped for replayed
    events, which passed it when first published), guards (may veto by raising: nothing then
    happens, which is how the host writes ahead to a recorder), acceptance into the history,
    observers, and finally the handlers. Guards, acceptance and observers happen one event at a
    time in a single order; handlers run after that with no lock held. An event whose id the
    bus accepted before is a repeat: it goes no further, but unless it is marked replayed the
    repeat checks are asked about it first (a host's recorder refuses one whose content differs
    from what it stored, see `add_repeat_check`).
    """

    def __init__(
        self, max_history: int = 1000, max_errors: int = 1000, dedupe_window: int = 10_000
    ) -> None:
        """Keep ``max_history`` events and ``max_errors`` handler failures; remember the last
        ``dedupe_window`` ids (at least ``max_history``; each costs about 170 bytes) to refuse
        re-delivered events.

        Each is an int >= 0, else ``InvalidArgumentError``.
        """
        require_int("max_history", max_history, minimum=0)
        require_int("max_errors", max_errors, minimum=0)
        require_int("dedupe_window", dedupe_window, minimum=0)
        self._lock = threading.Lock()
        # Re-entrant so an observer that publishes does not deadlock; its event is then
        # accepted after the one it observed, in history and recorder alike.
        self._sequence = threading.RLock()
        self._history: deque[Event] = deque(maxlen=max_history)
        # Ordered: the oldest id goes in O(1) (``del d[next(iter(d))]`` on a plain dict rescans
        # the slots its earlier deletions left, which made a 1M-event replay quadratic).
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = max(max_history, dedupe_window)
        self._handlers: dict[str, CallbackList[Handler]] = {}
        self._middleware: CallbackList[Middleware] = CallbackList()
        self._guards: CallbackList[Callable[[Event], object]] = CallbackList()
        self._repeat_checks: CallbackList[Callable[[Event], object]] = CallbackList()
        self._observers: CallbackList[Callable[[Event], object]] = CallbackList()
        self._errors: deque[HandlerFailure] = deque(maxlen=max_errors)

    def subscribe(self, event_type: EventType, handler: Handler) -> Remove:
        """Call ``handler(event)`` for each event of ``event_type`` (``"*"``: every event)."""
        name = event_type_name(event_type)
        require_callable("handler", handler)
        with self._lock:
            handlers = self._handlers.setdefault(name, CallbackList())
        return handlers.add(handler)

    def add_middleware(self, middleware: Middleware) -> Remove:
        """Run ``middleware(event)`` before acceptance; it returns the event to use, or None."""
        require_callable("middleware", middleware)
        return self._middleware.add(middleware)

    def add_guard(self, guard: Callable[[Event], object]) -> Remove:
        """Call ``guard(event)`` before an event is accepted.

        Raising vetoes the event (and propagates to the publisher). A guard must not publish.
        """
        require_callable("guard", guard)
        return self._guards.add(guard)

    def add_repeat_check(self, check: Callable[[Event], object]) -> Remove:
        """Call ``check(event)`` for an event whose id the bus accepted before (a repeat, which
        is not accepted or dispatched again), unless it is marked replayed: raising refuses it
        and propagates to the publisher. How a host tells a publisher that a stored id holds
        other content (the same content again is nothing to refuse). A check must not publish.
        """
        require_callable("check", check)
        return self._repeat_checks.add(check)

    def check_guards(self, event: Event) -> None:
        """Ask every guard about ``event`` without accepting it: raises the first veto.

        For middleware that performs a request in place of accepting it (the graph requests):
        the guards are asked before the request's effect happens, as for an accepted event.
        """
        with self._sequence:
            for guard in self._guards:
                guard(event)

    def add_observer(self, observer: Callable[[Event], object]) -> Remove:
        """Call ``observer(event)`` for every accepted event, in acceptance order.

        Like a handler's, an observer's error is logged and kept in ``errors``, never raised.
        """
        require_callable("observer", observer)
        return self._observers.add(observer)

    @property
    def replay_window(self) -> int:
        """How many of the last accepted events decide what the bus keeps of its past: the ids
        it remembers to refuse a re-delivered event (``dedupe_window``, at least
        ``max_history``, the events it keeps). Publishing only the last ``replay_window`` events
        of a log of distinct ids (all of them when there are fewer) leaves a new bus as
        publishing the whole log would: the same history in the same order and the same ids
        remembered, in the same order. Anything that sees the events as they are published
        (`replay_observed`) would tell the difference."""
        return self._seen_limit

    def replay_observed(self, own: Collection[Callable[[Event], object]] = ()) -> bool:
        """Whether a replayed event (``Event.replayed``) published now would be seen by anything
        but the guards and observers in ``own`` (its owner's, which know to pass replayed
        events over): a subscriber of any type or of ``"*"``, another guard (it may also veto)
        or another observer. Middleware does not count: `publish_event` skips it for replayed
        events. A subclass that calls anything else while publishing must count it here.

        False means a replay may publish only the last `replay_window` events of its log."""
        with self._lock:
            if any(len(handlers) for handlers in self._handlers.values()):
                return True
        callbacks = (*self._guards, *self._observers)
        return any(callback not in own for callback in callbacks)

    def publish(
        self,
        event_type: EventType,
        data: Any = None,
        source: str | None = None,
        metadata: dict[str, JSON] | None = None,
    ) -> str:
        """Create and publish an event; return its id (also when middleware dropped it).

        Raises ``InvalidEventError`` naming the argument for a bad type, source or metadata
        (see ``Event``) before anything is published.
        """
        return self.publish_event(Event.create(event_type, data, source, metadata))

    def publish_event(self, event: Event) -> str:
        """Publish an already-built event (replayed, or from another process).

        Idempotent by id: an id the bus has accepted before is not accepted or dispatched again;
        what a repeat check raises for it (`add_repeat_check`: a recorder's conflict for other
        content under that id) reaches the publisher.
        """
        if not isinstance(event, Event):
            raise InvalidEventError(f"publish_event needs an Event, not {type(event).__name__}")
        accepted = event if event.replayed else self._run_middleware(event)
        if accepted is not None and self._accept(accepted):
            self._dispatch(accepted)
        return event.id

    def replay(self, events: Iterable[Event]) -> int:
        """`publish_event` for each of ``events`` in turn, marked replayed
        (`Event.as_replayed`): what a host does at startup with the events its recorder
        holds, in one call for all of them (no middleware runs: replayed events passed it when
        they were first published). Returns how many events it took from ``events`` (an id
        accepted before is taken but not accepted again). InvalidEventError for an item that
        is not an Event (the ones before it are published); a guard's veto propagates as from
        `publish_event`. A `publish_event` replaced by a subclass or on the instance gets every
        replayed event."""
        accept, dispatch = self._accept, self._dispatch
        overridden = getattr(self.publish_event, "__func__", None) is not EventBus.publish_event
        count = 0
        for event in events:
            if type(event) is not Event or not event.replayed:
                if not isinstance(event, Event):
                    raise InvalidEventError(f"replay needs Events, not {type(event).__name__}")
                event = event.as_replayed()  # noqa: PLW2901 - the event to publish
            if overridden:
                self.publish_event(event)
            elif accept(event):
                dispatch(event)
            count += 1
        return count

    def get_history(
        self, event_type: EventType | None = None, limit: int | None = 100
    ) -> list[Event]:
        """Accepted events, newest first, optionally of one type; ``limit=None`` returns all.

        ``limit`` is an int >= 0 or None, else ``InvalidArgumentError``.
        """
        require_int("limit", limit, minimum=0, optional=True)
        name = None if event_type is None else event_type_name(event_type)
        with self._lock:
            events = [e for e in reversed(self._history) if name is None or e.type == name]
        return events if limit is None else events[:limit]

    @property
    def errors(self) -> list[HandlerFailure]:
        """Handler and observer failures, oldest first (bounded)."""
        with self._lock:
            return list(self._errors)

    def _run_middleware(self, event: Event) -> Event | None:
        for middleware in self._middleware:
            result = middleware(event)
            if result is None:
                log.debug("event_dropped", event_id=event.id, event_type=event.type)
                return None
            event = result
        return event

    def _accept(self, event: Event) -> bool:
        """Guard, record in history and notify observers, one event at a time; a repeat of an
        id accepted before is checked (`add_repeat_check`), then passed over (False)."""
        with self._sequence:
            if event.id in self._seen:  # changed only under ``_sequence``, held here
                if not event.replayed:
                    for check in self._repeat_checks.callbacks:
                        check(event)
                return False
            for guard in self._guards.callbacks:
                guard(event)
            with self._lock:
                self._seen[event.id] = None
                if len(self._seen) > self._seen_limit:
                    self._seen.popitem(last=False)
                self._history.append(event)
            for observer in self._observers.callbacks:
                self._call("event_observer_failed", observer, event)
        return True

    def _dispatch(self, event: Event) -> None:
        with self._lock:
            typed = self._handlers.get(event.type)
            wildcard = self._handlers.get(ALL_EVENTS)
        if typed is not None:
            for handler in typed.callbacks:
                self._call("event_handler_failed", handler, event)
        if wildcard is not None:
            for handler in wildcard.callbacks:
                self._call("event_handler_failed", handler, event)

    def _call(self, log_event: str, handler: Handler, event: Event) -> None:
        # `call_isolated`, inlined: its keyword arguments would be built for every call.
        try:
            handler(event)
        except Exception as error:
            log_failure(log_event, handler, event_id=event.id, event_type=event.type)
            with self._lock:
                self._errors.append(HandlerFailure(event, callable_name(handler), error))
