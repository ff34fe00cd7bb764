"""No stored delta makes a start or `inner-universe replay` impossible (issue 13): a delta under
an id the plugin did not write is a delta of its stream, replayed in its place in the log, and
the plugin's own numbering goes past it; a delta whose operations do not apply is skipped with
one warning naming it, on start and live alike, and listed by `inner-universe replay`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from click.testing import CliRunner

from nerv_inner_universe.cli.replay_command import replay_command
from nerv_inner_universe.delta import MAX_DEPTH
from nerv_inner_universe.nerv import Nerv
from tests.integration.http_api import T0, Database, delta_metadata, set_op, some
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config
from tests.integration.plugin.test_runtime_persistence import wait_for

ANCHOR = "stream.main.base"


def record(db: Database, delta_id: str, operations: list[Any], description: str = "") -> None:
    """Another writer (the same identity, without the plugin) records a delta on ``main``."""
    db.ok("record_delta", delta_id, "main", ANCHOR, T0, operations, delta_metadata(description))


def stored_ids(db: Database) -> list[str]:
    rows = db.sql("SELECT delta_id, seq FROM delta_record WHERE stream = 'main'")
    return [str(row["delta_id"]) for row in sorted(rows, key=lambda row: int(row["seq"]))]


def history(runtime: Nerv) -> list[tuple[int, str]]:
    return [(i, m.description) for i, m in runtime.state_projector.get_delta_history()]


def replay_output(db: Database) -> tuple[int, str]:
    result = CliRunner().invoke(
        replay_command,
        ["--url", db.base_url, "--database", db.name],
        env={"INNER_UNIVERSE_TOKEN": db.token, "COLUMNS": "400"},
    )
    return result.exit_code, result.output


def skipped_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "delta_skipped" in r.getMessage()]


def test_a_foreign_id_is_replayed_in_log_order_and_the_next_own_id_is_fresh(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    config = nerv_config(db)
    first = runtimes(config)
    first.state_projector.apply_delta({"a": 1}, "own")
    first.stop()
    record(db, "main:1x", [set_op("/a", "2")], "foreign")
    record(db, "main:7.elsewhere", [set_op("/b", "3")], "numbered ahead")
    record(db, "handmade", [set_op("/c", "4")], "no index at all")

    second = runtimes(config)
    assert second.state_projector.get_current_state() == {"a": 2, "b": 3, "c": 4}
    expected = [(0, "own"), (1, "foreign"), (7, "numbered ahead"), (8, "no index at all")]
    assert history(second) == expected
    assert second.state_projector.apply_delta({"d": 5}, "next") == 9
    ids = stored_ids(db)
    assert len(ids) == len(set(ids)) == 5
    assert ids[:4] == [ids[0], "main:1x", "main:7.elsewhere", "handmade"]
    assert ids[4].startswith("main:9.")
    assert ids[4].split(".", 1)[1] != ids[0].split(".", 1)[1]  # another process, another tag
    second.stop()

    third = runtimes(config)
    assert history(third) == [*expected, (9, "next")]
    assert third.state_projector.get_current_state() == {"a": 2, "b": 3, "c": 4, "d": 5}

    code, output = replay_output(db)
    assert code == 0, output
    assert "deltas skipped" not in output


def unappliable() -> list[tuple[str, list[Any], str]]:
    """Deltas the module accepts that do not apply after ``{"list": []}``: (id, operations,
    what the error says)."""
    deep = '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH
    return [
        ("main:1.zzz", [{"Remove": {"path": "/nope", "index": 3}}], "remove at '/nope'"),
        (
            "main:2.zzz",
            [{"Insert": {"path": "/list", "index": some(4294967295), "value": "1"}}],
            "4294967295",
        ),
        ("main:3.zzz", [set_op("/deep", deep)], f"more than {MAX_DEPTH} deep"),
    ]


def test_an_unappliable_delta_is_skipped_live_and_on_start_and_replay_lists_it(
    inner_universe: Database, runtimes: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    db = inner_universe
    config = nerv_config(db)
    live = runtimes(config)
    live.state_projector.apply_delta({"list": []}, "own")
    bad = unappliable()
    with caplog.at_level(logging.WARNING, logger="nerv_inner_universe.nerv.projector"):
        for delta_id, operations, _ in bad:
            record(db, delta_id, operations, "bad")
        record(db, "main:4.zzz", [set_op("/other", "1")], "good")
        wait_for(lambda: live.state_projector.get_current_state().get("other") == 1)
    expected_state = {"list": [], "other": 1}
    assert live.state_projector.get_current_state() == expected_state
    expected_history = [(0, "own"), (1, "bad"), (2, "bad"), (3, "bad"), (4, "good")]
    assert history(live) == expected_history
    # Live, the projector makes each a no-op at its place in the log, as replay does.
    live_warnings = [
        r.getMessage() for r in caplog.records if "delta_not_applicable" in r.getMessage()
    ]
    assert len(live_warnings) == len(bad)
    for index, warning in enumerate(live_warnings, 1):
        assert f"index={index}" in warning

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nerv_inner_universe.plugin.reader"):
        restarted = runtimes(config)
    assert restarted.state_projector.get_current_state() == expected_state
    assert history(restarted) == expected_history
    start_warnings = skipped_warnings(caplog)
    assert len(start_warnings) == len(bad)
    for (delta_id, _, _), warning in zip(bad, start_warnings, strict=True):
        assert f"delta_id={delta_id}" in warning

    # Both go on from the same place: the next own delta of each is seen by the other.
    assert restarted.state_projector.apply_delta({"by": "restarted"}, "after") == 5
    wait_for(lambda: live.state_projector.get_current_state().get("by") == "restarted")
    assert live.state_projector.get_current_state() == restarted.state_projector.get_current_state()

    code, output = replay_output(db)
    assert code == 0, output
    assert f"{len(bad)} deltas skipped" in output
    for delta_id, _, error in bad:
        assert delta_id in output
        assert error in output
    assert "Traceback" not in output
