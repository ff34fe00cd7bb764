"""publish_event(s), update_config, init and the connection lifecycle against the real server."""

from __future__ import annotations

from tests.integration.http_api import NONE, Database, event_input, some
from tests.integration.module.conftest import Refused


def test_init_writes_admin_config_and_the_first_event(inner_universe: Database) -> None:
    db = inner_universe
    first = db.sql("SELECT * FROM event_log WHERE seq = 1")
    assert [e["event_type"] for e in first] == ["SYSTEM_INITIALIZED"]
    config = {r["key"]: r["value"] for r in db.sql("SELECT * FROM config")}
    assert config["snapshot_interval"] == "50"
    assert config["auth_required"] == "true"
    assert config["max_connections"] == "100"
    assert "log_level" not in config, "nothing reads it, so init does not write it"


def test_publish_event_and_batch_keep_one_gap_free_order(inner_universe: Database) -> None:
    db = inner_universe
    db.ok("publish_event", event_input("ev-1", data='{"step": 1}'))
    db.ok("publish_events", [event_input(f"ev-{i}", data=str(i)) for i in range(2, 6)])
    rows = sorted(db.sql("SELECT * FROM event_log"), key=lambda r: r["seq"])
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    published = [r for r in rows if r["event_id"].startswith("ev-")]
    assert [r["event_id"] for r in published] == [f"ev-{i}" for i in range(1, 6)]
    assert published[0]["data"] == [12, '{"step":1}']  # EventData::Custom, canonical
    assert published[0]["occurred_at"] == [1_700_000_000_000_000]


def test_publish_is_idempotent_by_event_id(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    db.ok("publish_event", event_input("ev-1"))
    before = db.snapshot()
    db.ok("publish_event", event_input("ev-1"))
    assert db.snapshot() == before
    refused(
        "publish_event",
        event_input("ev-1", data="2"),
        expect='already_exists: event "ev-1" already exists with different content',
    )


def test_publish_refusals(inner_universe: Database, refused: Refused) -> None:
    refused("publish_event", event_input("ev 1"), expect='event.event_id "ev 1" contains')
    refused(
        "publish_event",
        event_input("ev-1", event_type=""),
        expect="event.event_type must not be empty",
    )
    refused("publish_event", event_input("ev-1", data="{"), expect="event.data is not valid JSON")
    refused(
        "publish_event",
        event_input("ev-1", metadata="1"),
        expect="event.metadata must be a JSON object",
    )
    refused("publish_events", [], expect="events is empty")
    refused(
        "publish_events",
        [event_input("ok-1"), event_input("bad", data="nope")],
        expect="events[1].data is not valid JSON",
    )
    too_many = [event_input(f"e{i}") for i in range(1001)]
    refused("publish_events", too_many, expect="events has 1001 items; the limit is 1000")


def test_update_config_and_admin_keys(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    user = db.new_writer()
    db.ok("update_config", "app.theme", '"dark"', some("UI theme"), token=user)
    db.ok("update_config", "log_level", '"debug"', NONE)  # admin (publisher)
    config = {r["key"]: r for r in db.sql("SELECT * FROM config")}
    assert config["app.theme"]["value"] == '"dark"'
    assert config["log_level"]["value"] == '"debug"'
    updates = db.sql("SELECT * FROM event_log WHERE event_type = 'CONFIG_UPDATED'")
    assert ["app.theme", '"dark"'] in [e["data"][1] for e in updates]
    for key in ("log_level", "cache_size_mb", "feature_enable_x", "admin_mail", "security_mode"):
        refused(
            "update_config",
            key,
            "1",
            NONE,
            token=user,
            expect=f'permission_denied: config key "{key}" is admin-only',
        )
    refused(
        "update_config", "Bad-Key", "1", NONE, expect='config key "Bad-Key" must start with a-z'
    )
    refused("update_config", "app.x", "{", NONE, expect="value is not valid JSON")


def test_connections_leave_no_permanent_rows(inner_universe: Database) -> None:
    """Anyone may connect, and every HTTP call connects: connecting writes no log row, and a
    call's `client_connection` row is gone when it returns."""
    db = inner_universe
    before = db.sql("SELECT * FROM event_log")
    stranger = db.new_identity()
    refused = db.call("publish_event", event_input("ev-0"), token=stranger)
    assert refused.status_code == 530
    db.ok("publish_event", event_input("ev-1"))
    after = sorted(db.sql("SELECT * FROM event_log"), key=lambda r: r["seq"])
    assert len(after) == len(before) + 1
    assert after[-1]["event_type"] == "AGENT_STEP"
    assert not {r["event_type"] for r in after} & {"CLIENT_CONNECTED", "CLIENT_DISCONNECTED"}
    assert db.sql("SELECT * FROM client_connection") == []
    message = db.fails("set_client_info", "x" * 5000)
    assert "client_info is 5000 bytes long" in message
    db.ok("set_client_info", "pytest")
