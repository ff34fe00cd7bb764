"""The security model against the real server (issue 13, items 1 and 2): roles, enforced
``auth_required``, stream ownership and grants, and who may delete a relation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.http_api import (
    NONE,
    T0,
    Database,
    delta_metadata,
    entity_metadata,
    event_input,
    identity_arg,
    relation_metadata,
    sha,
    some,
)
from tests.integration.module.conftest import Refused

WRITER: dict[str, list[Any]] = {"Writer": []}
ADMIN: dict[str, list[Any]] = {"Admin": []}


def root(db: Database, version_id: str, timeline: str, token: str | None = None) -> None:
    db.ok(
        "commit_state_version",
        version_id,
        timeline,
        NONE,
        T0,
        "",
        sha("{}"),
        [],
        some("{}"),
        token=token,
    )


def child(parent: str, version_id: str, timeline: str) -> list[Any]:
    """The arguments of a version on top of ``parent`` (state ``{}``, no operations)."""
    return [version_id, timeline, some(parent), T0, "", sha("{}"), [], NONE]


def mutating_calls() -> dict[str, list[Any]]:
    """One valid call of every reducer that changes data (against the fixtures below)."""
    return {
        "create_entity": ["e9", "agent", entity_metadata()],
        "update_entity": ["e1", "tool", entity_metadata()],
        "delete_entity": ["e2"],
        "create_relation": ["r9", "e1", "e2", "uses", relation_metadata()],
        "update_relation": ["r1", "needs", relation_metadata()],
        "delete_relation": ["r1"],
        "commit_state_version": child("v1", "v9", "main"),
        "record_delta": ["d9", "s", "v1", T0, [], delta_metadata()],
        "publish_event": [event_input("ev-9")],
        "publish_events": [[event_input("ev-9")]],
        "update_config": ["app.theme", '"dark"', NONE],
        "set_client_info": ["me"],
        "grant_stream_access": [identity_arg("0x" + "1" * 64)],
        "revoke_stream_access": [identity_arg("0x" + "1" * 64)],
    }


def fixtures(db: Database, token: str | None = None) -> None:
    db.ok("create_entity", "e1", "agent", entity_metadata(), token=token)
    db.ok("create_entity", "e2", "agent", entity_metadata(), token=token)
    db.ok("create_relation", "r1", "e2", "e1", "uses", relation_metadata(), token=token)
    root(db, "v1", "main", token=token)


def test_without_a_role_nothing_can_be_changed(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    fixtures(db)
    stranger = db.new_identity()
    for reducer, args in mutating_calls().items():
        refused(
            reducer,
            *args,
            token=stranger,
            expect=f"permission_denied: {reducer} needs the writer or admin role",
        )
    for reducer, args in (
        ("grant_role", [identity_arg("0x" + "1" * 64), WRITER]),
        ("revoke_role", [identity_arg("0x" + "1" * 64), WRITER]),
        ("checkpoint", ["0f" * 16, True]),
        ("reopen", []),
    ):
        refused(
            reducer, *args, token=stranger, expect=f"permission_denied: {reducer} is admin-only"
        )


def test_a_writer_may_change_what_it_owns(inner_universe: Database) -> None:
    db = inner_universe
    writer = db.new_writer()
    fixtures(db, token=writer)
    calls = mutating_calls()
    del calls["revoke_stream_access"]  # nothing granted yet: not_found, tested below
    del calls["delete_entity"]  # e2 is still referenced by r1 until delete_relation runs
    for reducer, args in calls.items():
        db.ok(reducer, *args, token=writer)
    db.ok("delete_relation", "r9", token=writer)
    db.ok("delete_entity", "e2", token=writer)
    [entity] = db.sql("SELECT * FROM entity WHERE id = 'e9'")
    [admin] = db.sql("SELECT * FROM admin")
    assert entity["owner"] != admin["identity"]


def test_roles_are_granted_and_revoked_by_admins(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    identity, token = db.mint_identity()
    db.ok("grant_role", identity_arg(identity), WRITER)
    db.ok("grant_role", identity_arg(identity), WRITER)  # held already: a no-op
    db.ok("publish_event", event_input("ev-1"), token=token)
    refused(
        "grant_role",
        identity_arg(db.mint_identity()[0]),
        WRITER,
        token=token,
        expect="permission_denied: grant_role is admin-only",
    )
    db.ok("revoke_role", identity_arg(identity), WRITER)
    refused(
        "publish_event",
        event_input("ev-2"),
        token=token,
        expect="permission_denied: publish_event needs the writer or admin role",
    )
    refused(
        "revoke_role",
        identity_arg(identity),
        WRITER,
        expect=f'not_found: writer "{identity}" does not exist',
    )
    [admin] = db.sql("SELECT * FROM admin")
    publisher = admin["identity"][0]
    refused(
        "revoke_role",
        identity_arg(publisher),
        ADMIN,
        expect=f"permission_denied: {publisher.removeprefix('0x')} published the database and "
        "stays admin",
    )
    db.ok("grant_role", identity_arg(identity), ADMIN)
    db.ok("update_config", "snapshot_interval", "7", NONE, token=token)  # admin-only key
    db.ok("revoke_role", identity_arg(identity), ADMIN, token=token)  # two admins: allowed
    assert len(db.sql("SELECT * FROM admin")) == 1


def test_auth_required_false_lets_every_identity_write(inner_universe: Database) -> None:
    db = inner_universe
    stranger = db.new_identity()
    db.ok("update_config", "auth_required", "false", NONE)
    db.ok("publish_event", event_input("ev-1"), token=stranger)
    db.ok("create_entity", "e1", "agent", entity_metadata(), token=stranger)
    message = db.fails("update_config", "auth_required", "true", NONE, token=stranger)
    assert message.startswith('permission_denied: config key "auth_required" is admin-only')


def append(kind: str, n: int) -> tuple[str, list[Any]]:
    """The reducer and arguments of the ``n``-th append (``n`` >= 2) to timeline ``main`` or
    delta stream ``s``."""
    if kind == "timeline":
        return "commit_state_version", child(f"v{n - 1}", f"v{n}", "main")
    return "record_delta", [f"d{n}", "s", "v1", T0, [], delta_metadata()]


@pytest.mark.parametrize(
    ("kind", "what", "key"),
    [("timeline", 'timeline "main"', "timeline:main"), ("deltas", 'delta stream "s"', "deltas:s")],
)
def test_streams_belong_to_their_first_writer(
    inner_universe: Database, refused: Refused, kind: str, what: str, key: str
) -> None:
    db = inner_universe
    alice_identity, alice = db.mint_writer()
    bob_identity, bob = db.mint_writer()
    root(db, "v1", "main", token=alice)
    reducer, args = append(kind, 2)
    db.ok(reducer, *args, token=alice)
    reducer, args = append(kind, 3)
    refused(reducer, *args, token=bob, expect=f"permission_denied: {what} belongs to")
    db.ok("grant_stream_access", identity_arg(bob_identity), token=alice)
    db.ok(reducer, *args, token=bob)
    db.ok("revoke_stream_access", identity_arg(bob_identity), token=alice)
    reducer, args = append(kind, 4)
    refused(reducer, *args, token=bob, expect=f"permission_denied: {what} belongs to")
    db.ok(reducer, *args)  # an admin may append to any stream
    owners = {r["key"]: r["owner"] for r in db.sql("SELECT * FROM stream_owner")}
    assert owners[key] == [f"0x{alice_identity}"]
    refused(
        "revoke_stream_access",
        identity_arg(bob_identity),
        token=alice,
        expect="not_found: stream access grant",
    )


def test_the_owner_of_an_endpoint_may_delete_a_relation(
    inner_universe: Database, refused: Refused
) -> None:
    """Another identity's relation must not keep you from deleting your entity."""
    db = inner_universe
    carol, bob, eve = db.new_writer(), db.new_writer(), db.new_writer()
    db.ok("create_entity", "c", "agent", entity_metadata(), token=carol)
    db.ok("create_entity", "b", "agent", entity_metadata(), token=bob)
    db.ok("create_relation", "r", "b", "c", "uses", relation_metadata(), token=bob)
    refused("delete_relation", "r", token=eve, expect='permission_denied: relation "r" belongs')
    refused(
        "update_relation",
        "r",
        "needs",
        relation_metadata(),
        token=carol,
        expect='permission_denied: relation "r" belongs',
    )
    db.ok("delete_relation", "r", token=carol)
    db.ok("delete_entity", "c", token=carol)
    assert db.sql("SELECT * FROM relation") == []
