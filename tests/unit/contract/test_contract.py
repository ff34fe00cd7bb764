"""The contract's pure parts: refusal parsing, the snapshot rule, the reducer calls."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import ReducerFailedError, Timestamp, Variant
from nerv_inner_universe.contract import (
    ErrorCode,
    ReducerRefusedError,
    Refusal,
    Table,
    parse_interval,
    snapshot_required,
)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_refusal_splits_into_code_and_message(code: ErrorCode) -> None:
    refusal = Refusal.parse(f'{code.value}: entity "e1": it says: more')
    assert refusal == Refusal(code, 'entity "e1": it says: more')
    assert str(refusal) == f'{code.value}: entity "e1": it says: more'


@pytest.mark.parametrize(
    "text",
    [
        "The instance encountered a fatal error.",
        "conflict:no space after the colon",
        "unknown_code: message",
        "",
    ],
)
def test_text_without_a_known_code_keeps_all_of_it(text: str) -> None:
    refusal = Refusal.parse(text)
    assert refusal == Refusal(None, text)
    assert str(refusal) == text


def test_a_rate_limited_refusal_says_when_the_window_resets() -> None:
    refusal = Refusal.parse(
        "rate_limited: identity c2 is over its write budget of 3 events per 60-second window "
        "(write_budget_events): 3 used and this call adds 1; the window resets at "
        "2026-11-29T17:00:00+00:00 (resets_at_micros=1795971600000000, in 12.500 s)"
    )
    assert refusal.code is ErrorCode.RATE_LIMITED
    assert refusal.resets_at == 1_795_971_600.0
    assert Refusal.parse("rate_limited: no time given").resets_at is None
    assert Refusal.parse("conflict: resets_at_micros=5").resets_at is None


def test_a_refused_error_is_still_a_reducer_failure_with_its_code() -> None:
    error = ReducerRefusedError("commit_state_version", "snapshot_required: version 'v2' ...")
    assert isinstance(error, ReducerFailedError)
    assert error.code is ErrorCode.SNAPSHOT_REQUIRED
    assert error.refusal.message == "version 'v2' ..."
    assert "commit_state_version" in str(error)


def test_the_snapshot_rule_mirrors_the_module() -> None:
    # the cases of spacetime/rules/src/snapshots.rs
    assert snapshot_required(False, 0, 50)
    assert not snapshot_required(True, 0, 3)
    assert not snapshot_required(True, 1, 3)
    assert snapshot_required(True, 2, 3)
    assert snapshot_required(True, 0, 1)
    assert snapshot_required(True, 0, 0), "0 behaves as 1, not as 'never'"


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("7", 7),
        ("0", 50),
        ('"x"', 50),
        ("7.0", 50),
        ("-3", 50),
        (str(1 << 64), 50),
        (None, 50),
        ("10000", 10_000),
        ("10001", 50),
    ],
)
def test_the_interval_falls_back_to_the_default(text: str | None, interval: int) -> None:
    assert parse_interval(text) == interval


def test_a_call_keeps_the_module_order_and_names_its_arguments() -> None:
    at = Timestamp(1)
    call = contract.commit_state_version(
        snapshot=None,
        operations=[contract.SetOperation("/a", "1"), contract.RemoveOperation("/l", 0)],
        data_hash="h",
        description="d",
        occurred_at=at,
        parent_version_id="v1",
        timeline="main",
        version_id="v2",
    )
    assert call.reducer == "commit_state_version"
    assert call.names == (
        "version_id",
        "timeline",
        "parent_version_id",
        "occurred_at",
        "description",
        "data_hash",
        "operations",
        "snapshot",
    )
    assert call.args[:6] == ("v2", "main", "v1", at, "d", "h")
    assert call.argument("operations") == [
        Variant("Set", contract.SetOperation("/a", "1")),
        Variant("Remove", contract.RemoveOperation("/l", 0)),
    ]
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        call.argument("nope")


def test_every_table_is_imported_or_rebuilt_by_the_import() -> None:
    assert set(contract.IMPORTED_TABLES).isdisjoint(contract.NOT_IMPORTED)
    assert set(contract.IMPORTED_TABLES) | contract.NOT_IMPORTED == set(Table)
    assert contract.import_batch(Table.ENTITY, ("r",)) == Variant("Entity", ["r"])
    with pytest.raises(KeyError):
        contract.import_batch(Table.LOG_SEQUENCE, [])


def test_one_redaction_call_per_kind() -> None:
    reducers = {
        contract.RedactedKind.EVENT: ("redact_event", "event_id"),
        contract.RedactedKind.STATE_VERSION: ("redact_state_version", "version_id"),
        contract.RedactedKind.DELTA: ("redact_delta", "delta_id"),
        contract.RedactedKind.CONFIG_KEY: ("remove_config_key", "key"),
    }
    assert set(reducers) == set(contract.RedactedKind)
    for kind, (reducer, target) in reducers.items():
        call = contract.redaction(kind, "x1", "poisoned")
        assert (call.reducer, call.names) == (reducer, (target, "reason"))
        assert call.args == ("x1", "poisoned")
    assert contract.RedactedKind.STATE_VERSION.event_type == "VERSION_REDACTED"
