"""The infrastructure factory an `eventsourcing` application finds through
``PERSISTENCE_MODULE=nerv_inner_universe.eventsourcing_module``."""

from __future__ import annotations

from typing import TypeVar

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.contract import name_problem
from nerv_inner_universe.eventsourcing_module.datastore import Datastore
from nerv_inner_universe.eventsourcing_module.recorders import (
    InnerUniverseAggregateRecorder,
    InnerUniverseApplicationRecorder,
    InnerUniverseProcessRecorder,
    InnerUniverseTrackingRecorder,
)
from nerv_inner_universe.eventsourcing_module.settings import EsSettings

R = TypeVar("R")
TTracking = TypeVar("TTracking", bound=InnerUniverseTrackingRecorder)


class InnerUniverseFactory(InfrastructureFactory[InnerUniverseTrackingRecorder]):
    """Connects to the database the environment names (`EsSettings`) and makes recorders that
    share the connection. Store names follow the SQL modules' table names:
    ``<SPACETIMEDB_STORE_PREFIX><app name, lowercase>_events`` (``stored_events`` without an
    app name), ``..._snapshots``, ``..._tracking`` (``notification_tracking``). ``CREATE_TABLE``
    is accepted and has nothing to do: the module has the tables. Raises `ConfigError` for a
    wrong variable or an application name that makes a store name the module refuses
    (`contract.name_problem`: ASCII letters, digits and ``._:/-``), and `OperationalError`
    when the database cannot be reached."""

    aggregate_recorder_class = InnerUniverseAggregateRecorder
    application_recorder_class = InnerUniverseApplicationRecorder
    tracking_recorder_class = InnerUniverseTrackingRecorder
    process_recorder_class = InnerUniverseProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.settings = EsSettings.from_environment(self.env)
        stores = (
            self._store("events"),
            self._store("snapshots"),
            self._store("tracking", "notification"),
        )
        for store in stores:
            if (problem := name_problem(store)) is not None:
                raise ConfigError(
                    "application name",
                    f"{self.env.name!r} makes the store name {store!r}, which {problem}",
                )
        self.datastore = Datastore(self.settings)

    def close(self) -> None:
        """Disconnects; the recorders made by this factory stop working. Without it, the
        connection closes once neither the factory nor any recorder it made is left (a
        recorder kept alone, as `eventsourcing.projection.ProjectionRunner` keeps its view's,
        goes on working)."""
        self.datastore.close()

    def _store(self, suffix: str, default: str = "stored") -> str:
        return f"{self.settings.store_prefix}{self.env.name.lower() or default}_{suffix}"

    def _chosen(self, key: str, default: type[R]) -> type[R]:
        topic = self.env.get(key)
        if not topic:
            return default
        chosen = resolve_topic(topic)
        if not (isinstance(chosen, type) and issubclass(chosen, default)):
            raise TypeError(f"{key}={topic!r} is not a subclass of {default.__name__}")
        return chosen

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return self.aggregate_recorder_class(self.datastore, events_store=self._store(purpose))

    def application_recorder(self) -> ApplicationRecorder:
        cls = self._chosen(self.APPLICATION_RECORDER_TOPIC, self.application_recorder_class)
        return cls(self.datastore, events_store=self._store("events"))

    def tracking_recorder(
        self, tracking_recorder_class: type[TTracking] | None = None
    ) -> InnerUniverseTrackingRecorder:
        cls: type[InnerUniverseTrackingRecorder] = tracking_recorder_class or self._chosen(
            self.TRACKING_RECORDER_TOPIC, self.tracking_recorder_class
        )
        return cls(self.datastore, tracking_store=self._store("tracking", "notification"))

    def process_recorder(self) -> ProcessRecorder:
        cls = self._chosen(self.PROCESS_RECORDER_TOPIC, self.process_recorder_class)
        return cls(
            self.datastore,
            events_store=self._store("events"),
            tracking_store=self._store("tracking", "notification"),
        )
