"""Retrying what may succeed once the server is back: the reads and the connect a start
needs (a start overlapping a server's stop or restart meets a closed connection)."""

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


async def retried(attempt: Callable[[], Awaitable[T]], what: str, *, retry_for: float) -> T:
    """``attempt()``'s result; connection trouble (`SpacetimeConnectionError`) is retried with
    backoff for up to ``retry_for`` seconds, then raised as PersistenceError naming ``what``
    and chained from it. Other errors propagate at once, MessageTooLargeError too (the same
    question gets the same answer: the caller asks for less)."""
    deadline = time.monotonic() + retry_for
    delay = FIRST_DELAY
    while True:
        try:
            return await attempt()
        except MessageTooLargeError:
            raise
        except SpacetimeConnectionError as error:
            if time.monotonic() + delay > deadline:
                raise PersistenceError(
                    f"{what} failed: the server could not be reached within {retry_for:.0f} s "
                    f"(retry_for): {error}"
                ) from error
            log.warning("read_retry", what=what, delay=delay, error=str(error))
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
