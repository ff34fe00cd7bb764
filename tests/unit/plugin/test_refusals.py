"""A module refusal becomes the error the Recorder contract names for its code."""

from __future__ import annotations

import pytest

from nerv_inner_universe.contract import ErrorCode, ReducerRefusedError
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    NervError,
    RecordConflictError,
    UnknownVersionError,
)
from nerv_inner_universe.plugin.errors import (
    PersistenceError,
    RateLimitedError,
    SnapshotRequiredError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.writer import refusal

EXPECTED: dict[ErrorCode | None, type[NervError]] = {
    ErrorCode.ALREADY_EXISTS: RecordConflictError,
    ErrorCode.CONFLICT: ConcurrencyConflictError,
    ErrorCode.NOT_FOUND: UnknownVersionError,
    ErrorCode.SNAPSHOT_REQUIRED: SnapshotRequiredError,
    ErrorCode.INVALID_ARGUMENT: WriteRefusedError,
    ErrorCode.PERMISSION_DENIED: WriteRefusedError,
    ErrorCode.IN_USE: WriteRefusedError,
    ErrorCode.INTEGRITY_ERROR: WriteRefusedError,
    ErrorCode.RESOURCE_EXHAUSTED: WriteRefusedError,
    ErrorCode.REDACTED: WriteRefusedError,
    ErrorCode.RATE_LIMITED: RateLimitedError,
    ErrorCode.UNAVAILABLE: PersistenceError,
    ErrorCode.IMPORT_OPEN: PersistenceError,
    None: WriteRefusedError,
}


@pytest.mark.parametrize("code", [*ErrorCode, None])
def test_each_code_maps_to_its_error(code: ErrorCode | None) -> None:
    text = "the reducer panicked" if code is None else f"{code.value}: row 'x' is wrong"
    cause = ReducerRefusedError("commit_state_version", text)
    error = refusal("version 'v2'", cause)
    assert type(error) is EXPECTED[code]
    assert str(error) == f"version 'v2': {text}"
    assert error.__cause__ is cause


def test_a_rate_limited_write_says_when_it_may_be_sent_again() -> None:
    cause = ReducerRefusedError(
        "publish_events", "rate_limited: ... window resets at ... (resets_at_micros=2500000, ...)"
    )
    error = refusal("event 'e1'", cause)
    assert isinstance(error, RateLimitedError)
    assert isinstance(error, WriteRefusedError)
    assert error.resets_at == 2.5
