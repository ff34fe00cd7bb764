"""Retrying what may succeed once the server is back: one `Backoff` for every retry loop of the
plugin (the writer's calls and re-sends, and the reads and the connect a start needs: a start
overlapping a server's stop or restart meets a closed connection)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nerv_inner_universe.client import MessageTooLargeError, SpacetimeConnectionError
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.plugin.errors import PersistenceError

log = get_logger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.05
MAX_DELAY = 2.0
"""Seconds between two attempts: doubling from FIRST_DELAY up to MAX_DELAY."""


class Backoff:
    """The waits between the attempts at one thing: `delay` doubles from FIRST_DELAY up to
    MAX_DELAY, for ``retry_for`` seconds from when the Backoff was made (the last wait ends at
    that deadline, so the last attempt comes when ``retry_for`` has passed, not earlier)."""

    def __init__(self, retry_for: float) -> None:
        self._deadline = time.monotonic() + retry_for
        self.delay = FIRST_DELAY
        """Seconds the next `wait` sleeps."""

    def exhausted(self) -> bool:
        """True once the deadline has passed: give up now."""
        return time.monotonic() >= self._deadline

    async def wait(self) -> None:
        """Sleeps `delay`, or until the deadline when that comes first, then doubles `delay`
        (up to MAX_DELAY)."""
        await asyncio.sleep(max(0.0, min(self.delay, self._deadline - time.monotonic())))
        self.delay = min(self.delay * 2, MAX_DELAY)


async def retried(attempt: Callable[[], Awaitable[T]], what: str, *, retry_for: float) -> T:
    """``attempt()``'s result; connection trouble (`SpacetimeConnectionError`) is retried with
    backoff for up to ``retry_for`` seconds, then raised as PersistenceError naming ``what``
    and chained from it. Other errors propagate at once, MessageTooLargeError too (the same
    question gets the same answer: the caller asks for less)."""
    backoff = Backoff(retry_for)
    while True:
        try:
            return await attempt()
        except MessageTooLargeError:
            raise
        except SpacetimeConnectionError as error:
            if backoff.exhausted():
                raise PersistenceError(
                    f"{what} failed: the server could not be reached within {retry_for:.0f} s "
                    f"(retry_for): {error}"
                ) from error
            log.warning("read_retry", what=what, delay=backoff.delay, error=str(error))
            await backoff.wait()
