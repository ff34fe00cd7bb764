"""EventBus under threads: every handler sees every event once, and handlers may re-enter."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from nerv_inner_universe.nerv import ALL_EVENTS, Event, EventBus

THREADS = 8
PER_THREAD = 200


def run_threads(target: Callable[[int], object], count: int = THREADS) -> None:
    """Start ``count`` threads together and fail (instead of hanging) if one does not finish."""
    barrier = threading.Barrier(count)

    def body(n: int) -> None:
        barrier.wait()
        target(n)

    threads = [threading.Thread(target=body, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a publisher deadlocked"


def test_publishing_from_many_threads_delivers_each_event_once() -> None:
    bus = EventBus(max_history=THREADS * PER_THREAD)
    typed: list[str] = []
    every: list[str] = []
    observed: list[str] = []
    bus.subscribe("A", lambda event: typed.append(event.id))
    bus.subscribe(ALL_EVENTS, lambda event: every.append(event.id))
    bus.add_observer(lambda event: observed.append(event.id))
    published: list[str] = []

    def publish(n: int) -> None:
        published.extend(bus.publish("A", {"thread": n, "i": i}) for i in range(PER_THREAD))

    run_threads(publish)
    assert len(published) == THREADS * PER_THREAD
    assert Counter(typed) == Counter(every) == Counter(published)
    assert max(Counter(typed).values()) == 1
    history = [e.id for e in bus.get_history(limit=None)]
    assert observed == history[::-1]
    assert set(history) == set(published)


def test_the_same_event_from_many_threads_is_dispatched_once() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe("A", seen.append)
    event = Event.create("A")
    run_threads(lambda n: bus.publish_event(event))
    assert seen == [event]


def test_handlers_may_publish_and_subscribe_from_many_threads() -> None:
    bus = EventBus(max_history=10_000)
    late: list[str] = []
    replies: list[str] = []

    def on_request(event: Event) -> None:
        bus.subscribe("LATE", lambda e: late.append(e.id))
        bus.publish("REPLY", event.id)

    bus.subscribe("REQUEST", on_request)
    bus.subscribe("REPLY", lambda event: replies.append(event.data))
    requests: list[str] = []

    def publish(n: int) -> None:
        requests.extend(bus.publish("REQUEST") for _ in range(20))

    run_threads(publish)
    assert Counter(replies) == Counter(requests)
    bus.publish("LATE")
    assert len(late) == THREADS * 20


def test_subscribing_and_unsubscribing_while_publishing_does_not_break_delivery() -> None:
    bus = EventBus()
    steady: list[str] = []
    bus.subscribe("A", lambda event: steady.append(event.id))

    def churn_or_publish(n: int) -> None:
        for _ in range(100):
            if n % 2:
                bus.subscribe("A", lambda event: None)()
            else:
                bus.publish("A")

    run_threads(churn_or_publish)
    assert len(steady) == len(set(steady)) == (THREADS // 2) * 100
