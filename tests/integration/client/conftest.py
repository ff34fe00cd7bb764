"""Client fixtures on top of the shared server fixtures: a connected ``DbConnection`` (once
per wire format: every test taking ``conn`` runs with `JsonCodec` and with `BsatnCodec`) and a
``SpacetimeHttp``, both as the database's owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from nerv_inner_universe.client import (
    BsatnCodec,
    CodecFactory,
    DbConnection,
    JsonCodec,
    Row,
    SpacetimeHttp,
)
from tests.integration.http_api import Database


def metadata(name: str | None = None, *, tags: tuple[str, ...] = (), properties: str = "{}") -> Row:
    """An ``EntityMetadata`` value of the Inner Universe module."""
    return Row(name=name, description=None, tags=tags, properties=properties)


def connect(database: Database, **options: Any) -> DbConnection:
    return DbConnection(database.base_url, database.name, token=database.token, **options)


CODECS: dict[str, CodecFactory] = {"json": JsonCodec, "bsatn": BsatnCodec}
"""The wire formats, by test id."""


@pytest.fixture(params=list(CODECS.values()), ids=list(CODECS))
def codec(request: pytest.FixtureRequest) -> CodecFactory:
    """Each wire format in turn."""
    factory: CodecFactory = request.param
    return factory


@pytest.fixture
async def conn(inner_universe: Database, codec: CodecFactory) -> AsyncIterator[DbConnection]:
    async with connect(inner_universe, codec=codec) as connection:
        yield connection


@pytest.fixture
async def http(inner_universe: Database) -> AsyncIterator[SpacetimeHttp]:
    async with SpacetimeHttp(inner_universe.base_url, token=inner_universe.token) as client:
        yield client


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Waits until ``condition()`` holds (updates reach other connections asynchronously)."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)
