"""What the library's cases do not cover: refusals as the library's errors, text originator
ids, and a subscription woken by another process's writes (SpacetimeDB pushes the store's new
head to every subscriber)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import DataError, IntegrityError, Notification, StoredEvent

from nerv_inner_universe.eventsourcing_module import (
    InnerUniverseApplicationRecorder,
    InnerUniverseFactory,
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
