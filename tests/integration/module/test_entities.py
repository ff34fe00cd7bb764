"""create_entity / update_entity / delete_entity against the real server."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.http_api import Database, entity_metadata, relation_metadata
from tests.integration.module.conftest import Refused


def events_of(db: Database, event_type: str) -> list[dict[str, Any]]:
    return db.sql(f"SELECT * FROM event_log WHERE event_type = '{event_type}'")  # noqa: S608


def test_create_entity_stores_canonical_properties_and_logs(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("create_entity", "e1", "agent", entity_metadata("Ada", ["x"], '{"b": 1.0, "a": 2}'))
    [row] = db.sql("SELECT * FROM entity")
    assert row["id"] == "e1"
    assert row["entity_type"] == "agent"
    assert row["metadata"][3] == '{"a":2,"b":1.0}'
    [event] = events_of(db, "ENTITY_CREATED")
    assert event["source"] == [0, "e1"]
    assert event["data"][0] == 0  # EventData::EntityCreated
    assert event["data"][1][0] == "e1"


def test_create_entity_is_idempotent_for_identical_content(inner_universe: Database) -> None:
    db = inner_universe
    meta = entity_metadata("Ada")
    db.ok("create_entity", "e1", "agent", meta)
    before = db.snapshot()
    db.ok("create_entity", "e1", "agent", meta)
    assert db.snapshot() == before
    assert len(events_of(db, "ENTITY_CREATED")) == 1


def test_create_entity_refusals(inner_universe: Database, refused: Refused) -> None:
    inner_universe.ok("create_entity", "e1", "agent", entity_metadata())
    refused(
        "create_entity",
        "e1",
        "agent",
        entity_metadata("other"),
        expect='already_exists: entity "e1" already exists with different content',
    )
    refused("create_entity", "", "agent", entity_metadata(), expect="entity_id must not be empty")
    refused("create_entity", "a b", "agent", entity_metadata(), expect='entity_id "a b" contains')
    refused("create_entity", "x" * 129, "agent", entity_metadata(), expect="limit is 128")
    refused("create_entity", "e2", " ", entity_metadata(), expect="entity_type must not be empty")
    refused(
        "create_entity",
        "e2",
        "agent",
        entity_metadata(properties="[1]"),
        expect="metadata.properties must be a JSON object, not array",
    )
    refused(
        "create_entity",
        "e2",
        "agent",
        entity_metadata(properties='{"a": NaN}'),
        expect="metadata.properties is not valid JSON",
    )
    refused(
        "create_entity",
        "e2",
        "agent",
        entity_metadata(properties='{"a": 1, "a": 2}'),
        expect='duplicate key "a"',
    )
    refused(
        "create_entity",
        "e2",
        "agent",
        entity_metadata(tags=["t", "t"]),
        expect='metadata.tags repeats the tag "t"',
    )


def test_update_entity_records_changed_fields(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("create_entity", "e1", "agent", entity_metadata("Ada"))
    db.ok("update_entity", "e1", "agent", entity_metadata("Ada", properties='{"k": true}'))
    [event] = events_of(db, "ENTITY_UPDATED")
    assert event["data"][1] == ["e1", ["metadata.properties"]]
    db.ok("update_entity", "e1", "person", entity_metadata("Bob", properties='{"k": true}'))
    changes = [e["data"][1][1] for e in events_of(db, "ENTITY_UPDATED")]
    assert ["entity_type", "metadata.name"] in changes
    [row] = db.sql("SELECT * FROM entity")
    assert row["entity_type"] == "person"
    assert row["updated_at"] != row["created_at"]


def test_update_without_change_is_a_no_op(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("create_entity", "e1", "agent", entity_metadata("Ada"))
    before = db.snapshot()
    db.ok("update_entity", "e1", "agent", entity_metadata("Ada"))
    assert db.snapshot() == before


def test_update_and_delete_refusals(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    db.ok("create_entity", "e1", "agent", entity_metadata())
    refused("update_entity", "nope", "agent", entity_metadata(), expect='not_found: entity "nope"')
    refused("delete_entity", "nope", expect='not_found: entity "nope" does not exist')
    stranger = db.new_writer()
    refused(
        "update_entity",
        "e1",
        "agent",
        entity_metadata("x"),
        token=stranger,
        expect='permission_denied: entity "e1" belongs to',
    )
    refused("delete_entity", "e1", token=stranger, expect="permission_denied")


def test_referenced_entity_cannot_be_deleted(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    db.ok("create_entity", "a", "agent", entity_metadata())
    db.ok("create_entity", "b", "agent", entity_metadata())
    db.ok("create_relation", "r1", "a", "b", "knows", relation_metadata())
    refused(
        "delete_entity",
        "b",
        expect='in_use: entity "b" is still referenced by 1 relation(s), e.g. "r1"',
    )
    db.ok("delete_relation", "r1")
    db.ok("delete_entity", "b")
    assert [r["id"] for r in db.sql("SELECT * FROM entity")] == ["a"]
    [event] = events_of(db, "ENTITY_DELETED")
    assert event["data"][1] == ["b", "agent"]


def test_owner_can_change_and_admin_can_change_anything(inner_universe: Database) -> None:
    db = inner_universe
    user = db.new_writer()
    db.ok("create_entity", "mine", "agent", entity_metadata(), token=user)
    db.ok("update_entity", "mine", "agent", entity_metadata("renamed"), token=user)
    db.ok("update_entity", "mine", "agent", entity_metadata("by admin"))  # the publisher
    [row] = db.sql("SELECT * FROM entity")
    assert json.dumps(row["metadata"][0]) == json.dumps([0, "by admin"])
    db.ok("delete_entity", "mine")
    assert db.sql("SELECT * FROM entity") == []
