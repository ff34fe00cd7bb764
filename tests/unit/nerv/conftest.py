"""Fixtures of the NERV core tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs
from structlog.typing import EventDict


@pytest.fixture
def logs() -> Iterator[list[EventDict]]:
    """Every structlog entry made during the test, whatever level the run logs at."""
    configured = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(wrapper_class=configured)
