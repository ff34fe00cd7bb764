"""The shared Recorder contract, run against Inner Universe on the real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import Event
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


class TestBsatnProtocol(RecorderContract):
    @pytest.fixture
    def recorder(
        self, inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
    ) -> InnerUniverseRecorder:
        return recorder_for(inner_universe, events="async", protocol="bsatn")


def test_json_and_bsatn_recorders_share_one_log(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    binary = recorder_for(inner_universe, events="sync", protocol="bsatn")
    text = recorder_for(inner_universe, events="sync", protocol="json")
    events = [
        Event.create("MIXED", {"n": n, "text": "é" * n}, source=None if n % 3 else "s")
        for n in range(12)
    ]
    for n, event in enumerate(events):
        (binary if n % 2 else text).record_event(event)
    read = [binary.read_events(), text.read_events()]
    assert read[0] == read[1]
    assert [(e.id, e.type, e.data, e.source) for e in read[0]] == [
        (e.id, e.type, e.data, e.source) for e in events
    ]
