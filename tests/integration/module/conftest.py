"""A helper shared by the module tests: a refused call must say why and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.http_api import Database

Refused = Callable[..., str]


@pytest.fixture
def refused(inner_universe: Database) -> Refused:
    """`refused(reducer, *args, expect="code: text")`: asserts the call fails with a message
    containing ``expect`` and that every table is exactly as before."""

    def check(reducer: str, *args: Any, expect: str, token: str | None = None) -> str:
        before = inner_universe.snapshot()
        message = inner_universe.fails(reducer, *args, token=token)
        assert expect in message, f"{reducer}: expected {expect!r} in {message!r}"
        assert inner_universe.snapshot() == before, f"{reducer} was refused but changed tables"
        return message

    return check
