"""The `eventsourcing` recorders, over the module's `es_*` tables.

A *store* is one sequence of stored events (an application's events, its snapshots) or of
tracking records; its name is the recorder's table name in the SQL modules
(``<prefix><app>_events``). Every method raises `eventsourcing.persistence` errors: a taken
position or a tracking record that is not after the recorded one `IntegrityError`, bad input
`DataError`, connection trouble `OperationalError` (see `datastore.translated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    Recorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from nerv_inner_universe.contract import EsEventInput, EsTrackingInput, Table
from nerv_inner_universe.eventsourcing_module.datastore import Datastore
from nerv_inner_universe.plugin.reader import quoted
from nerv_inner_universe.shown import shown

MAX_VERSION = 2**64 - 1


class InnerUniverseRecorder(Recorder):
    """What every recorder holds: the shared `Datastore` and the names of its stores."""

    def __init__(
        self, datastore: Datastore, *, events_store: str = "", tracking_store: str = ""
    ) -> None:
        self.datastore = datastore
        self.events_store = events_store
        self.tracking_store = tracking_store

    def originator_id(self, text: str) -> UUID | str:
        """A stored originator id as the application gave it (``ORIGINATOR_ID_TYPE``)."""
        return UUID(text) if self.datastore.settings.originator_id_type == "uuid" else text

    def stored_originator_id(self, originator_id: UUID | str) -> str:
        """The text stored for ``originator_id``: a UUID in its hyphenated form; with
        ``ORIGINATOR_ID_TYPE=uuid`` a string must be a UUID (`DataError` otherwise)."""
        if isinstance(originator_id, UUID):
            return str(originator_id)
        if not isinstance(originator_id, str):
            raise DataError(f"originator_id {shown(originator_id)} is neither a UUID nor a str")
        if self.datastore.settings.originator_id_type == "text":
            return originator_id
        try:
            return str(UUID(originator_id))
        except ValueError:
            raise DataError(
                f"originator_id {shown(originator_id)} is not a UUID "
                "(set ORIGINATOR_ID_TYPE=text to store any string)"
            ) from None


class InnerUniverseAggregateRecorder(InnerUniverseRecorder, AggregateRecorder):
    """Stored events of one store, unique by (originator id, originator version)."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Records ``stored_events`` atomically; `IntegrityError` when a position is taken."""
        self._append(stored_events, None)
        return None

    def _append(
        self, stored_events: Sequence[StoredEvent], tracking: EsTrackingInput | None
    ) -> list[int]:
        events = [self._input(event) for event in stored_events]
        if not events and tracking is None:
            return []
        return self.datastore.run(self.datastore.append(self.events_store, events, tracking))

    def _input(self, event: StoredEvent) -> EsEventInput:
        version = event.originator_version
        if (
            not isinstance(version, int)
            or isinstance(version, bool)
            or not 0 <= version <= MAX_VERSION
        ):
            raise DataError(
                f"originator_version {shown(version)} is not an integer from 0 to 2**64 - 1"
            )
        if not isinstance(event.state, bytes):
            raise DataError(f"state is {type(event.state).__name__}, not bytes")
        return EsEventInput(
            originator_id=self.stored_originator_id(event.originator_id),
            originator_version=version,
            topic=event.topic,
            state=event.state,
        )

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """The events of ``originator_id`` with versions in (``gt``, ``lte``], in version
        order (``desc``: newest first), at most ``limit`` of them."""
        where = (
            f"store = {quoted(self.events_store)} "
            f"AND originator_id = {quoted(self.stored_originator_id(originator_id))}"
        )
        if gt is not None and gt >= 0:
            where += f" AND originator_version > {int(gt)}"
        if lte is not None:
            if lte < 0:
                return []
            where += f" AND originator_version <= {int(lte)}"
        rows = self.datastore.run(self.datastore.select(Table.ES_STORED_EVENT, where))
        rows.sort(key=lambda row: int(row.originator_version), reverse=desc)
        return [
            StoredEvent(
                originator_id=self.originator_id(str(row.originator_id)),
                originator_version=int(row.originator_version),
                topic=str(row.topic),
                state=bytes(row.state),
            )
            for row in rows[:limit]
        ]


class InnerUniverseApplicationRecorder(InnerUniverseAggregateRecorder, ApplicationRecorder):
    """Stored events plus the store's notification log: ids 1, 2, 3... in commit order."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """Records ``stored_events`` atomically; returns their notification ids."""
        return self._append(stored_events, None)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """Up to ``limit`` notifications from ``start`` (None: the first; excluded unless
        ``inclusive_of_start``) to ``stop`` (inclusive), of ``topics`` (empty: all)."""
        low = 1 if start is None else max(start if inclusive_of_start else start + 1, 1)
        rows = self.datastore.run(
            self.datastore.notifications(self.events_store, low, limit, stop, topics)
        )
        return [
            Notification(
                id=int(row.notification_id),
                originator_id=self.originator_id(str(row.originator_id)),
                originator_version=int(row.originator_version),
                topic=str(row.topic),
                state=bytes(row.state),
            )
            for row in rows
        ]

    def max_notification_id(self) -> int | None:
        """The last notification id; None before the first event."""
        return self.datastore.run(self.datastore.head(self.events_store)) or None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        """Notifications after ``gt``: those recorded already, then each new one as the
        server pushes the store's new head."""
        return InnerUniverseSubscription(self, gt=gt, topics=topics)


class InnerUniverseSubscription(ListenNotifySubscription[InnerUniverseApplicationRecorder]):
    """Catches up with `select_notifications`, then pulls again whenever the server pushes an
    update of the store's `es_store` row (a SpacetimeDB subscription)."""

    def __init__(
        self,
        recorder: InnerUniverseApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        try:
            recorder.datastore.listen(recorder.events_store, self._has_been_notified)
        except BaseException:
            self.stop()
            raise
        # Events recorded between the first pull and listening: pull once more.
        self._has_been_notified.set()

    def stop(self) -> None:
        super().stop()
        self._recorder.datastore.unlisten(self._recorder.events_store, self._has_been_notified)


class InnerUniverseTrackingRecorder(InnerUniverseRecorder, TrackingRecorder):
    """Tracking records of one store: per upstream application, the last notification id
    processed, which only moves forward. ``wait`` polls `max_tracking_id` (inherited)."""

    def insert_tracking(self, tracking: Tracking) -> None:
        """Records ``tracking``; `IntegrityError` unless it is after the recorded one."""
        self.datastore.run(self.datastore.append(self.tracking_store, [], self._tracking(tracking)))

    def _tracking(self, tracking: Tracking) -> EsTrackingInput:
        notification_id = tracking.notification_id
        if not isinstance(notification_id, int) or not 0 <= notification_id <= MAX_VERSION:
            raise DataError(
                f"notification_id {shown(notification_id)} is not an integer from 0 to 2**64 - 1"
            )
        return EsTrackingInput(
            store=self.tracking_store,
            application_name=tracking.application_name,
            notification_id=notification_id,
        )

    def max_tracking_id(self, application_name: str) -> int | None:
        """The last notification id of ``application_name`` recorded; None before the first."""
        rows = self.datastore.run(
            self.datastore.select(
                Table.ES_TRACKING,
                f"store = {quoted(self.tracking_store)} "
                f"AND application_name = {quoted(application_name)}",
            )
        )
        return int(rows[0].notification_id) if rows else None


class InnerUniverseProcessRecorder(
    InnerUniverseTrackingRecorder, InnerUniverseApplicationRecorder, ProcessRecorder
):
    """Stored events and the tracking record of the notification they came from, recorded in
    one transaction."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """Records ``stored_events`` and the optional ``tracking=`` record atomically."""
        tracking: Tracking | None = kwargs.get("tracking")
        return self._append(stored_events, None if tracking is None else self._tracking(tracking))
