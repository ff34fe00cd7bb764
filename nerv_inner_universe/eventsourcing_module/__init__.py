"""Inner Universe as a persistence module for the `eventsourcing` library (9.5).

An application selects it with ``PERSISTENCE_MODULE=nerv_inner_universe.eventsourcing_module``
and finds its database with ``SPACETIMEDB_URL``, ``SPACETIMEDB_DATABASE`` and
``SPACETIMEDB_TOKEN`` (see `EsSettings`). Stored events live in the module's `es_*` tables,
written by the `es_insert_events` reducer: unique by (originator id, version) per store,
notification ids gap-free in commit order, events and their tracking record in one
transaction. Subscriptions are served by SpacetimeDB's push subscriptions.

The package is not called ``eventsourcing`` so that it can never shadow the library.
"""

from __future__ import annotations

from nerv_inner_universe.eventsourcing_module.factory import InnerUniverseFactory
from nerv_inner_universe.eventsourcing_module.recorders import (
    InnerUniverseAggregateRecorder,
    InnerUniverseApplicationRecorder,
    InnerUniverseProcessRecorder,
    InnerUniverseSubscription,
    InnerUniverseTrackingRecorder,
)
from nerv_inner_universe.eventsourcing_module.settings import EsSettings

Factory = InnerUniverseFactory

__all__ = [
    "EsSettings",
    "Factory",
    "InnerUniverseAggregateRecorder",
    "InnerUniverseApplicationRecorder",
    "InnerUniverseFactory",
    "InnerUniverseProcessRecorder",
    "InnerUniverseSubscription",
    "InnerUniverseTrackingRecorder",
]
