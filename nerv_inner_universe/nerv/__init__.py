"""The NERV core: EventBus, TemporalStore, StateProjector, PerspectiveAware, the Recorder
protocol, entities and relations (`graph`, `graph_events`) and the pluggy host. Depends only
on ``nerv_inner_universe.delta``; knows nothing of SpacetimeDB (a plugin provides that as a
Recorder and a GraphStore)."""

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.nerv.callbacks import Remove
from nerv_inner_universe.nerv.clock import now
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    GraphAlreadyExistsError,
    GraphError,
    GraphInUseError,
    GraphNotFoundError,
    GraphPermissionError,
    InvalidDeltaError,
    InvalidEventError,
    InvalidGraphArgumentError,
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
from nerv_inner_universe.nerv.graph import Direction, Entity, GraphStore, GraphView, Relation
from nerv_inner_universe.nerv.graph_events import GRAPH_EVENT_TYPES
from nerv_inner_universe.nerv.hookspecs import hookimpl, hookspec
from nerv_inner_universe.nerv.perspective import PerspectiveAware
from nerv_inner_universe.nerv.projector import (
    Delta,
    DeltaCallback,
    DeltaMetadata,
    EarlierDeltas,
    FunctionDelta,
    NoOp,
    OperationsDelta,
    PatchDelta,
    ProjectorCheckpoint,
    StateProjector,
)
from nerv_inner_universe.nerv.recorder import (
    DeltaTail,
    InMemoryRecorder,
    Recorder,
    RestoringRecorder,
    TailRecorder,
    VersionTail,
)
from nerv_inner_universe.nerv.runtime import Nerv
from nerv_inner_universe.nerv.settings import FunctionDeltaPolicy, NervSettings
from nerv_inner_universe.nerv.temporal import (
    CommitCallback,
    EarlierVersions,
    TemporalStore,
    VersionedState,
)

__all__ = [
    "ALL_EVENTS",
    "GRAPH_EVENT_TYPES",
    "CommitCallback",
    "ConcurrencyConflictError",
    "ConfigError",
    "Delta",
    "DeltaCallback",
    "DeltaMetadata",
    "DeltaTail",
    "Direction",
    "EarlierDeltas",
    "EarlierVersions",
    "Entity",
    "Event",
    "EventBus",
    "EventType",
    "FunctionDelta",
    "FunctionDeltaPolicy",
    "GraphAlreadyExistsError",
    "GraphError",
    "GraphInUseError",
    "GraphNotFoundError",
    "GraphPermissionError",
    "GraphStore",
    "GraphView",
    "Handler",
    "HandlerFailure",
    "InMemoryRecorder",
    "InvalidDeltaError",
    "InvalidEventError",
    "InvalidGraphArgumentError",
    "LifecycleError",
    "Middleware",
    "Nerv",
    "NervError",
    "NervSettings",
    "NoOp",
    "OperationsDelta",
    "PatchDelta",
    "PerspectiveAware",
    "ProjectorCheckpoint",
    "RecordConflictError",
    "Recorder",
    "Relation",
    "Remove",
    "ReplayError",
    "RestoringRecorder",
    "StateProjector",
    "TailRecorder",
    "TemporalStore",
    "UnknownNameError",
    "UnknownVersionError",
    "UnpersistableDeltaError",
    "VersionTail",
    "VersionedState",
    "event_type_name",
    "hookimpl",
    "hookspec",
    "now",
]
