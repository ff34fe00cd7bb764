"""create_relation / update_relation / delete_relation against the real server."""

from __future__ import annotations

from tests.integration.http_api import Database, entity_metadata, relation_metadata
from tests.integration.module.conftest import Refused


def two_entities(db: Database) -> None:
    db.ok("create_entity", "a", "agent", entity_metadata())
    db.ok("create_entity", "b", "tool", entity_metadata())


def test_relation_lifecycle(inner_universe: Database) -> None:
    db = inner_universe
    two_entities(db)
    db.ok("create_relation", "r1", "a", "b", "uses", relation_metadata(0.5))
    db.ok("create_relation", "r1", "a", "b", "uses", relation_metadata(0.5))  # idempotent
    [row] = db.sql("SELECT * FROM relation")
    assert (row["from_entity"], row["to_entity"], row["relation_type"]) == ("a", "b", "uses")
    db.ok("update_relation", "r1", "depends_on", relation_metadata(0.25))
    [update] = db.sql("SELECT * FROM event_log WHERE event_type = 'RELATION_UPDATED'")
    assert update["data"][1] == ["r1", ["relation_type", "metadata.strength"]]
    db.ok("delete_relation", "r1")
    assert db.sql("SELECT * FROM relation") == []
    [deleted] = db.sql("SELECT * FROM event_log WHERE event_type = 'RELATION_DELETED'")
    assert deleted["data"][1] == ["r1", "a", "b", "depends_on"]


def test_relation_refusals(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    two_entities(db)
    db.ok("create_relation", "r1", "a", "b", "uses", relation_metadata())
    refused(
        "create_relation",
        "r2",
        "a",
        "ghost",
        "uses",
        relation_metadata(),
        expect='not_found: to_entity: entity "ghost" does not exist',
    )
    refused(
        "create_relation",
        "r2",
        "ghost",
        "b",
        "uses",
        relation_metadata(),
        expect='not_found: from_entity: entity "ghost" does not exist',
    )
    refused(
        "create_relation",
        "r2",
        "a",
        "b",
        "",
        relation_metadata(),
        expect="relation_type must not be empty",
    )
    refused(
        "create_relation",
        "r2",
        "a",
        "b",
        "uses",
        relation_metadata(1.5),
        expect="metadata.strength is 1.5; it must be between 0.0 and 1.0",
    )
    refused(
        "create_relation",
        "r1",
        "a",
        "b",
        "other",
        relation_metadata(),
        expect='already_exists: relation "r1"',
    )
    refused(
        "update_relation",
        "ghost",
        "uses",
        relation_metadata(),
        expect='not_found: relation "ghost"',
    )
    refused("delete_relation", "ghost", expect='not_found: relation "ghost"')
    stranger = db.new_writer()
    refused("delete_relation", "r1", token=stranger, expect="permission_denied")
