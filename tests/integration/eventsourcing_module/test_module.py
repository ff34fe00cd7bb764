"""What the library's cases do not cover: refusals as the library's errors, text originator
ids, and a subscription woken by another process's writes (SpacetimeDB pushes the store's new
head to every subscriber)."""

from __future__ import annotations

import gc
import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DataError,
    IntegrityError,
    Notification,
    StoredEvent,
    Tracking,
)
from eventsourcing.projection import Projection, ProjectionRunner

from nerv_inner_universe.eventsourcing_module import (
    InnerUniverseApplicationRecorder,
    InnerUniverseFactory,
    InnerUniverseTrackingRecorder,
)


@pytest.fixture
def factories() -> Iterator[list[InnerUniverseFactory]]:
    made: list[InnerUniverseFactory] = []
    yield made
    for factory in made:
        factory.close()


def application_recorder(
    factories: list[InnerUniverseFactory], **env: str
) -> InnerUniverseApplicationRecorder:
    factory = InnerUniverseFactory({**os.environ, **env})
    factories.append(factory)
    recorder = factory.application_recorder()
    assert isinstance(recorder, InnerUniverseApplicationRecorder)
    return recorder


def stored(originator_id: uuid.UUID | str, version: int, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id, version, topic, b"{}")


def test_bad_input_raises_data_error_and_records_nothing(
    factories: list[InnerUniverseFactory],
) -> None:
    recorder = application_recorder(factories)
    with pytest.raises(DataError, match="is not a UUID"):
        recorder.insert_events([stored("not-a-uuid", 1)])
    with pytest.raises(DataError, match="originator_version -1"):
        recorder.insert_events([stored(uuid.uuid4(), -1)])
    with pytest.raises(DataError, match=r"invalid_argument: events\[1\]\.topic must not be empty"):
        recorder.insert_events([stored(uuid.uuid4(), 1), stored(uuid.uuid4(), 1, topic="")])
    assert recorder.max_notification_id() is None
    assert recorder.insert_events([stored(uuid.uuid4(), 1)]) == [1]


def test_text_ids_round_trip_and_conflicts_are_integrity_errors(
    factories: list[InnerUniverseFactory],
) -> None:
    recorder = application_recorder(factories, ORIGINATOR_ID_TYPE="text")
    assert recorder.insert_events([stored("account-ada", 0), stored("account-ada", 1)]) == [1, 2]
    with pytest.raises(IntegrityError, match=r'integrity_error: stored event \("account-ada"'):
        recorder.insert_events([stored("account-bob", 0), stored("account-ada", 1)])
    events = recorder.select_events("account-ada", desc=True, limit=1)
    assert events == [stored("account-ada", 1)]
    assert [n.id for n in recorder.select_notifications(None, 10)] == [1, 2]


def test_a_subscription_sees_another_writers_events(
    factories: list[InnerUniverseFactory],
) -> None:
    reader = application_recorder(factories)
    writer = application_recorder(factories)  # another connection, as another process
    originator = uuid.uuid4()
    received: list[Notification] = []
    done = threading.Event()
    with reader.subscribe(gt=None) as subscription:

        def consume() -> None:
            for notification in subscription:
                received.append(notification)
                if len(received) == 3:
                    done.set()
                    return

        thread = threading.Thread(target=consume)
        thread.start()
        writer.insert_events([stored(originator, 1)])
        writer.insert_events([stored(originator, 2), stored(originator, 3)])
        assert done.wait(timeout=30), f"received {received}"
        thread.join(timeout=30)
    assert [(n.id, n.originator_version) for n in received] == [(1, 1), (2, 2), (3, 3)]


class Thing(Aggregate):
    @event("Made")
    def __init__(self) -> None:
        pass


class Things(Application[uuid.UUID]):
    pass


class ThingsSeen(InnerUniverseTrackingRecorder):
    """A view that only tracks what it processed."""


class SeeingThings(Projection[ThingsSeen]):
    name = "seeing_things"

    @singledispatchmethod
    def process_event(self, domain_event: object, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)


def test_a_projection_runner_keeps_its_view_working() -> None:
    """`ProjectionRunner` keeps the view's recorder and lets go of the factory that made it:
    the connection must live as long as the recorder does."""
    with ProjectionRunner(
        application_class=Things, projection_class=SeeingThings, view_class=ThingsSeen
    ) as runner:
        gc.collect()
        runner.app.save(Thing())
        last = runner.app.recorder.max_notification_id()
        assert last is not None
        runner.wait(last, timeout=60)
        assert runner.projection.view.max_tracking_id(runner.app.name) == last


def test_the_connection_closes_once_nothing_holds_it() -> None:
    def es_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("inner-universe-es-")}

    before = es_threads()
    recorder = InnerUniverseFactory(os.environ).tracking_recorder()
    gc.collect()
    assert recorder.max_tracking_id("upstream") is None  # the factory is gone, this works
    [made] = es_threads() - before
    del recorder
    gc.collect()
    made.join(timeout=60)  # the datastore's finalizer stopped its loop thread
    assert not made.is_alive()
