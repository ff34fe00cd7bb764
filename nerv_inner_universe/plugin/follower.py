"""Re-publishes events that other processes write into the local EventBus, exactly once.

A subscription to new `event_log` rows delivers them in log order on the client's loop; a
delivery thread publishes them into the bus (handlers may publish in turn, which needs the
writer, which must not be entered from its own loop). Our own events are never echoed: the
recorder knows every id it wrote, read or received.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from nerv_inner_universe.client import DbConnection, EventContext, SubscriptionHandle
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import translate

log = get_logger(__name__)


class Follower:
    def __init__(self, bus: EventBus, is_new: Callable[[Event], bool]) -> None:
        self._bus = bus
        self._is_new = is_new
        self._inbox: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._deliver, name="nerv-iu-follow", daemon=True)
        self._handle: SubscriptionHandle | None = None
        self.delivered = 0

    async def start(self, connection: DbConnection, after_seq: int) -> None:
        """Subscribes to rows after ``after_seq`` (what replay already covered)."""
        self._thread.start()
        connection.cache.table("event_log").on_insert(self._on_insert)
        self._handle = await connection.subscribe(
            f"SELECT * FROM event_log WHERE seq > {after_seq}"  # noqa: S608
        )

    def _on_insert(self, _context: EventContext, row: Any) -> None:
        event = translate.event_from_row(row)
        if event is not None and self._is_new(event):
            self._inbox.put(event)

    def _deliver(self) -> None:
        while (event := self._inbox.get()) is not None:
            self._bus.publish_event(event)
            self.delivered += 1
            log.debug("remote_event", event_id=event.id, event_type=event.type)

    def stop(self) -> None:
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
