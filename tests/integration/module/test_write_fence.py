"""The write fence of a durable stop (issue 9) against the real server: a `checkpoint` with
``close`` closes the database for writes, every change is then refused with ``unavailable``
and changes nothing, admins' too, until an admin's `reopen`; `checkpoint` and `reopen` work
while closed and are admin-only (test_access.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, Identity
from nerv_inner_universe.contract import EntityMetadata, ErrorCode, ReducerRefusedError, Role
from tests.integration.http_api import NONE, Database, entity_metadata, identity_arg
from tests.integration.module.conftest import Refused
from tests.integration.module.test_access import WRITER, fixtures, mutating_calls
from tests.integration.module.test_stored_events import event

MARKER = "0f" * 16


def admin_only_changes() -> dict[str, list[Any]]:
    """One valid call of every admin-only reducer that changes something."""
    return {
        "grant_role": [identity_arg("0x" + "1" * 64), WRITER],
        "revoke_role": [identity_arg("0x" + "1" * 64), WRITER],
        "import_rows": [{"Begin": []}],
        "update_config": ["auth_required", "false", NONE],
    }


def test_a_closed_database_refuses_every_change_until_an_admin_reopens_it(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    fixtures(db)
    writer = db.new_writer()
    db.ok("checkpoint", MARKER, True)
    [fence] = db.sql("SELECT * FROM write_fence")
    assert fence["closed_by"] == db.sql("SELECT * FROM admin")[0]["identity"]
    changes = {**mutating_calls(), "es_insert_events": ["app_events", [event(1)], NONE]}
    for reducer, args in changes.items():
        for token in (None, writer):  # the admin, a writer
            refused(reducer, *args, token=token, expect=f"unavailable: {reducer} cannot run")
    for reducer, args in admin_only_changes().items():
        refused(reducer, *args, expect="unavailable: ")

    db.ok("checkpoint", "1e" * 16, True)  # a checkpoint still runs; closed twice is closed
    [marker] = db.sql("SELECT * FROM durability_marker")
    assert marker["marker"] == "1e" * 16
    db.ok("reopen")
    assert db.sql("SELECT * FROM write_fence") == []
    db.ok("reopen")  # open already: a no-op
    db.ok("create_entity", "e9", "agent", entity_metadata())
    db.ok("es_insert_events", "app_events", [event(1)], NONE, token=writer)
    assert [row["id"] for row in db.sql("SELECT * FROM entity WHERE id = 'e9'")] == ["e9"]
    assert len(db.sql("SELECT * FROM es_stored_event WHERE store = 'app_events'")) == 1


def test_a_checkpoint_without_close_leaves_the_database_open(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("checkpoint", MARKER, False)
    assert db.sql("SELECT * FROM write_fence") == []
    fixtures(db)  # writes go through


async def test_a_raw_client_sees_the_code_and_may_send_the_call_again(
    inner_universe: Database,
) -> None:
    db = inner_universe
    call = contract.create_entity(entity_id="e1", entity_type="agent", metadata=EntityMetadata())
    async with DbConnection(db.base_url, db.name, token=db.token) as connection:
        await contract.checkpoint(marker=MARKER, close=True).send(connection)
        with pytest.raises(ReducerRefusedError) as refused:
            await call.send(connection)
        assert refused.value.code is ErrorCode.UNAVAILABLE
        assert refused.value.retryable
        assert db.sql("SELECT * FROM entity") == []
        writer = Identity.from_hex(db.mint_identity()[0])
        with pytest.raises(ReducerRefusedError) as admin_refused:
            await contract.grant_role(identity=writer, role=Role.WRITER).send(connection)
        assert admin_refused.value.code is ErrorCode.UNAVAILABLE
        await contract.reopen().send(connection)
        await call.send(connection)  # the same call, again
    assert [row["id"] for row in db.sql("SELECT * FROM entity")] == ["e1"]
