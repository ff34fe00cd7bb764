"""Reducer functions refuse what is not an operation with the client's ArgumentError."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import ArgumentError, Timestamp

T0 = Timestamp(1_700_000_000_000_000)


@pytest.mark.parametrize("operations", [["set"], [{"op": "set"}], "set", 3])
def test_anything_but_operations_is_an_argument_error_naming_the_field(
    operations: object,
) -> None:
    with pytest.raises(ArgumentError, match=r"record_delta\.operations"):
        contract.record_delta(
            delta_id="d",
            stream="s",
            state_version_id="v",
            occurred_at=T0,
            operations=operations,  # type: ignore[arg-type]
            metadata=contract.DeltaMetadata(description="d"),
        )
    with pytest.raises(ArgumentError, match=r"commit_state_version\.operations"):
        contract.commit_state_version(
            version_id="v",
            timeline="t",
            parent_version_id=None,
            occurred_at=T0,
            description="d",
            data_hash="0" * 64,
            operations=operations,  # type: ignore[arg-type]
            snapshot=None,
        )


def test_real_operations_pass() -> None:
    call = contract.record_delta(
        delta_id="d",
        stream="s",
        state_version_id="v",
        occurred_at=T0,
        operations=[contract.SetOperation(path="/a", value="1")],
        metadata=contract.DeltaMetadata(description="d"),
    )
    assert call.argument("delta_id") == "d"
