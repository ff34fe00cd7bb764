"""The NERV core: EventBus, TemporalStore, StateProjector, PerspectiveAware, the Recorder
protocol and the pluggy host. Depends only on ``nerv_inner_universe.delta``; knows nothing of
SpacetimeDB (a plugin provides that as a Recorder)."""

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.nerv.callbacks import Remove
from nerv_inner_universe.nerv.clock import now
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    InvalidDeltaError,
    InvalidEventError,
    LifecycleError,
    NervError,
    RecordConflictError,
    ReplayError,
    UnknownNameError,
    UnknownVersionError,
    UnpersistableDeltaError,
)
from nerv_inner_universe.nerv.events import (
    ALL_EVENTS,
    Event,
    EventBus,
    EventType,
    Handler,
    HandlerFailure,
    Middleware,
    event_type_name,
)
from nerv_inner_universe.nerv.hookspecs import hookimpl, hookspec
from nerv_inner_universe.nerv.perspective import PerspectiveAware
from nerv_inner_universe.nerv.projector import (
    Delta,
    DeltaCallback,
    DeltaMetadata,
    FunctionDelta,
    OperationsDelta,
    PatchDelta,
    StateProjector,
)
from nerv_inner_universe.nerv.recorder import InMemoryRecorder, Recorder
from nerv_inner_universe.nerv.runtime import Nerv
from nerv_inner_universe.nerv.settings import FunctionDeltaPolicy, NervSettings
from nerv_inner_universe.nerv.temporal import CommitCallback, TemporalStore, VersionedState

__all__ = [
    "ALL_EVENTS",
    "CommitCallback",
    "ConcurrencyConflictError",
    "ConfigError",
    "Delta",
    "DeltaCallback",
    "DeltaMetadata",
    "Event",
    "EventBus",
    "EventType",
    "FunctionDelta",
    "FunctionDeltaPolicy",
    "Handler",
    "HandlerFailure",
    "InMemoryRecorder",
    "InvalidDeltaError",
    "InvalidEventError",
    "LifecycleError",
    "Middleware",
    "Nerv",
    "NervError",
    "NervSettings",
    "OperationsDelta",
    "PatchDelta",
    "PerspectiveAware",
    "RecordConflictError",
    "Recorder",
    "Remove",
    "ReplayError",
    "StateProjector",
    "TemporalStore",
    "UnknownNameError",
    "UnknownVersionError",
    "UnpersistableDeltaError",
    "VersionedState",
    "event_type_name",
    "hookimpl",
    "hookspec",
    "now",
]
