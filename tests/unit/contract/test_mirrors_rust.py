"""What the module does not publish in its schema is mirrored by hand: these tests read the
Rust source and fail when the Python side differs (the schema-visible parts are compared with
the running module in tests/integration/module/test_contract.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from nerv_inner_universe import contract
from nerv_inner_universe.client import Timestamp
from nerv_inner_universe.contract import ErrorCode

RULES = Path(__file__).resolve().parents[3] / "spacetime" / "rules" / "src"
MODULE = RULES.parents[1] / "module" / "src"


def screaming_snake(pascal: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", pascal).upper()


def test_error_codes_are_the_rust_codes() -> None:
    source = (RULES / "error.rs").read_text()
    rust = dict(re.findall(r'Code::(\w+) => "(\w+)"', source))
    variants = re.search(r"pub enum Code \{(.*?)\n\}", source, re.S)
    assert variants is not None
    declared = re.findall(r"^\s{4}(\w+),$", variants.group(1), re.M)
    assert sorted(declared) == sorted(rust), "every Rust variant has its text form"
    assert {screaming_snake(name): text for name, text in rust.items()} == {
        code.name: code.value for code in ErrorCode
    }


def test_the_default_config_rows_are_the_ones_init_writes() -> None:
    snapshots = (RULES / "snapshots.rs").read_text()
    [interval_key] = re.findall(r'pub const INTERVAL_KEY: &str = "(\w+)";', snapshots)
    [default_interval] = re.findall(r"pub const DEFAULT_INTERVAL: u64 = (\d+);", snapshots)
    [max_interval] = re.findall(r"pub const MAX_INTERVAL: u64 = ([\d_]+);", snapshots)
    config = (RULES / "config.rs").read_text()
    defaults = config[config.index("pub const DEFAULTS") :]
    rows = re.findall(
        r'\(\s*(snapshots::INTERVAL_KEY|budget::\w+_KEY|"\w+"),\s*"((?:[^"\\]|\\.)*)",', defaults
    )
    named = {
        "snapshots::INTERVAL_KEY": interval_key,
        "budget::EVENTS_KEY": contract.WRITE_BUDGET_EVENTS_KEY,
        "budget::BYTES_KEY": contract.WRITE_BUDGET_BYTES_KEY,
        "budget::WINDOW_KEY": contract.WRITE_BUDGET_WINDOW_KEY,
    }
    rust = {named.get(key, key.strip('"')): value.replace('\\"', '"') for key, value in rows}
    assert interval_key == contract.SNAPSHOT_INTERVAL_KEY
    assert int(default_interval) == contract.DEFAULT_SNAPSHOT_INTERVAL
    assert int(max_interval) == contract.MAX_SNAPSHOT_INTERVAL
    [connections] = re.findall(r"pub const MAX_CONNECTIONS_LIMIT: u64 = ([\d_]+);", config)
    [timeout] = re.findall(r"pub const MAX_TIMEOUT_SECONDS: f64 = ([\d_.]+);", config)
    assert int(connections) == contract.MAX_CONNECTIONS_LIMIT
    assert float(timeout) == contract.MAX_TIMEOUT_SECONDS
    assert rust == contract.DEFAULT_CONFIG


def test_redacted_kinds_and_their_event_types_are_the_rust_ones() -> None:
    source = (MODULE / "types.rs").read_text()
    variants = re.search(r"pub enum RedactedKind \{(.*?)\n\}", source, re.S)
    assert variants is not None
    declared = re.findall(r"^\s{4}(\w+),$", variants.group(1), re.M)
    assert declared == [kind.value for kind in contract.RedactedKind], "names and order"
    function = re.search(r"pub fn event_type\(self\).*?\n    \}", source, re.S)
    assert function is not None
    types = dict(re.findall(r'RedactedKind::(\w+) => "(\w+)"', function.group(0)))
    assert types == {kind.value: kind.event_type for kind in contract.RedactedKind}
    event_data = re.search(r"pub enum EventData \{(.*?)\n\}", source, re.S)
    assert event_data is not None
    assert f"    {contract.REDACTED_EVENT}(Redacted)," in event_data.group(1)


def test_the_write_budget_keys_and_limits_are_the_rust_ones() -> None:
    budget = (RULES / "budget.rs").read_text()
    keys = dict(re.findall(r'pub const (\w+_KEY): &str = "(\w+)";', budget))
    assert keys == {
        "EVENTS_KEY": contract.WRITE_BUDGET_EVENTS_KEY,
        "BYTES_KEY": contract.WRITE_BUDGET_BYTES_KEY,
        "WINDOW_KEY": contract.WRITE_BUDGET_WINDOW_KEY,
    }
    [window] = re.findall(r"pub const MAX_WINDOW_SECONDS: u64 = ([\d_]+);", budget)
    assert int(window) == contract.MAX_WRITE_BUDGET_WINDOW_SECONDS
    limits = (RULES / "limits.rs").read_text()
    [keys_limit] = re.findall(r"pub const MAX_CONFIG_KEYS: usize = ([\d_]+);", limits)
    assert int(keys_limit) == contract.MAX_CONFIG_KEYS
    [delegates] = re.findall(r"pub const MAX_DELEGATES_PER_OWNER: usize = ([\d_]+);", limits)
    assert int(delegates) == contract.MAX_DELEGATES_PER_OWNER


def test_the_reserved_event_types_are_the_module_event_types() -> None:
    namespaces = (RULES / "namespaces.rs").read_text()
    listed = re.search(r"pub const MODULE_EVENT_TYPES: &\[&str\] = &\[(.*?)\];", namespaces, re.S)
    assert listed is not None
    reserved = re.findall(r'"(\w+)"', listed.group(1))
    assert len(reserved) == len(set(reserved))
    assert set(reserved) == contract.MODULE_EVENT_TYPES
    types = (MODULE / "types.rs").read_text()
    system = re.search(r"pub fn system_event_type\(&self\).*?\n    \}", types, re.S)
    assert system is not None
    emitted = set(re.findall(r'EventData::\w+\(_\) => "(\w+)"', system.group(0)))
    tombstones = {kind.event_type for kind in contract.RedactedKind}
    assert emitted | tombstones == contract.MODULE_EVENT_TYPES


def test_the_occurred_at_range_is_the_rust_one() -> None:
    moments = (RULES / "moments.rs").read_text()
    bounds = dict(re.findall(r"pub const (\w+_OCCURRED_AT_MICROS): i64 = (-?[\d_]+);", moments))
    assert {name: int(value) for name, value in bounds.items()} == {
        "MIN_OCCURRED_AT_MICROS": contract.MIN_OCCURRED_AT_MICROS,
        "MAX_OCCURRED_AT_MICROS": contract.MAX_OCCURRED_AT_MICROS,
    }
    first = Timestamp.from_datetime(datetime.min.replace(tzinfo=UTC))
    last = Timestamp.from_datetime(datetime.max.replace(tzinfo=UTC))
    assert (first.micros_since_epoch, last.micros_since_epoch) == (
        contract.MIN_OCCURRED_AT_MICROS,
        contract.MAX_OCCURRED_AT_MICROS,
    )
    assert contract.occurred_at_in_range(first)
    assert contract.occurred_at_in_range(last)
    assert not contract.occurred_at_in_range(Timestamp(first.micros_since_epoch - 1))
    assert not contract.occurred_at_in_range(Timestamp(last.micros_since_epoch + 1))


def test_the_log_page_span_is_the_rust_one() -> None:
    source = (MODULE / "tables" / "log_page.rs").read_text()
    [rows] = re.findall(r"pub const PAGE_ROWS: u64 = ([\d_]+);", source)
    assert int(rows) == contract.LOG_PAGE_ROWS


def test_the_import_stall_time_is_the_rust_one() -> None:
    source = (MODULE / "tables" / "import_progress.rs").read_text()
    [micros] = re.findall(r"pub const STALLED_AFTER_MICROS: i64 = ([\d_]+);", source)
    assert int(micros) == contract.IMPORT_STALLED_AFTER_SECONDS * 1_000_000


def test_the_name_rule_is_the_rust_one() -> None:
    limits = (RULES / "limits.rs").read_text()
    [length] = re.findall(r"pub const MAX_NAME_LEN: usize = ([\d_]+);", limits)
    assert int(length) == contract.MAX_NAME_BYTES
    text = (RULES / "text.rs").read_text()
    assert "matches!(c, '.' | '_' | ':' | '-' | '/')" in text  # what name_problem allows
    assert contract.name_problem("my.app/Event_1:x-y") is None
    assert contract.name_problem("n" * contract.MAX_NAME_BYTES) is None
    for refused in ("", "écoles", "a b", "n" * (contract.MAX_NAME_BYTES + 1)):
        assert contract.name_problem(refused) is not None, refused
