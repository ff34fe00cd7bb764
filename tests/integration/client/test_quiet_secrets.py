"""No token reaches a log record, the libraries' own included, with the root logger at DEBUG
(issue 13): `websockets` logs handshake headers and frames, httpcore response headers."""

from __future__ import annotations

import logging

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, SpacetimeHttp
from tests.integration.http_api import Database


async def test_no_token_in_any_log_record_at_debug(
    inner_universe: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    async with SpacetimeHttp(inner_universe.base_url) as anonymous:
        new = await anonymous.create_identity()  # the token comes back in a response header
        anonymous.token = new.token
        await anonymous.sql(inner_universe.name, "SELECT * FROM config")
    async with DbConnection(inner_universe.base_url, inner_universe.name, token=new.token) as conn:
        await conn.one_off_query("SELECT * FROM config")
    async with DbConnection(inner_universe.base_url, inner_universe.name) as fresh:
        minted = fresh.token  # issued in the IdentityToken message
        await fresh.one_off_query("SELECT * FROM config")
    async with SpacetimeHttp(inner_universe.base_url, token=inner_universe.token) as owner:
        call = contract.update_config(key="app.quiet", value="1", description=None)
        await call.send_http(owner, inner_universe.name)

    messages = [record.getMessage() for record in caplog.records]
    loggers = {record.name for record in caplog.records}
    assert {"websockets.client", "httpcore.http11"} <= loggers, "the libraries did log"
    assert any("Authorization: Bearer <redacted>" in m for m in messages), "headers were logged"
    assert any("spacetime-identity-token" in m for m in messages)
    assert minted is not None
    for token in (new.token, minted, inner_universe.token):
        leaked = [m for m in messages if token in m or token[:40] in m]
        assert leaked == [], f"a token in {len(leaked)} records, e.g. {leaked[0][:80]!r}"
