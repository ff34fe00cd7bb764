"""Fixtures of the NERV core tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from nerv_inner_universe.log import LIBRARY_LOGGER, RECORD_ATTRIBUTE


class _Entries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(getattr(record, RECORD_ATTRIBUTE))


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every structured entry the library logs during the test (``event``, ``level`` and the
    event's keys), whatever level the run logs at."""
    library = logging.getLogger(LIBRARY_LOGGER)
    level = library.level
    handler = _Entries()
    library.addHandler(handler)
    library.setLevel(logging.DEBUG)
    try:
        yield handler.entries
    finally:
        library.removeHandler(handler)
        library.setLevel(level)
