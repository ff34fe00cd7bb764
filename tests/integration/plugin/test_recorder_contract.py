"""The shared Recorder contract, run against Inner Universe on the real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import Database
from tests.recorder_contract import RecorderContract


class TestSyncEvents(RecorderContract):
    @pytest.fixture
    def recorder(
        self, inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
    ) -> InnerUniverseRecorder:
        return recorder_for(inner_universe, events="sync")


class TestAsyncEvents(RecorderContract):
    @pytest.fixture
    def recorder(
        self, inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
    ) -> InnerUniverseRecorder:
        return recorder_for(inner_universe, events="async")
