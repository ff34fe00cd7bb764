"""Recorded server output (SpacetimeDB 1.2.0 with the Inner Universe module) shared by the
client's unit tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nerv_inner_universe.client import ModuleSchema

DATA = Path(__file__).parent / "data"


def recorded_schema_json() -> Any:
    return json.loads((DATA / "inner_universe_schema_v9.json").read_text())


def recorded_messages() -> dict[str, Any]:
    """``frames``: raw WebSocket text frames by name; ``sql_entity``: a ``/sql`` response."""
    result: dict[str, Any] = json.loads((DATA / "server_messages.json").read_text())
    return result


@pytest.fixture(scope="session")
def schema() -> ModuleSchema:
    return ModuleSchema.from_json(recorded_schema_json())


@pytest.fixture(scope="session")
def frames() -> dict[str, str]:
    result: dict[str, str] = recorded_messages()["frames"]
    return result
