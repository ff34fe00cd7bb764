from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.client import (
    ConnectionId,
    Identity,
    Row,
    TimeDuration,
    Timestamp,
    Variant,
    micros_from_seconds,
)


@given(st.integers(0, (1 << 256) - 1))
def test_identity_hex_round_trip(value: int) -> None:
    identity = Identity(value)
    assert len(identity.hex) == 64
    assert Identity.from_hex(identity.hex) == identity
    assert Identity.from_hex("0x" + identity.hex) == identity
    assert str(identity) == identity.hex


@given(st.integers(0, (1 << 128) - 1))
def test_connection_id_hex_round_trip(value: int) -> None:
    connection_id = ConnectionId(value)
    assert len(connection_id.hex) == 32
    assert ConnectionId.from_hex(connection_id.hex) == connection_id


@pytest.mark.parametrize("value", [-1, 1 << 256, True, "1"])
def test_identity_rejects_values_out_of_range(value: object) -> None:
    with pytest.raises(ValueError, match="value must be an int"):
        Identity(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "0x", "zz", "1" * 65])
def test_identity_rejects_bad_hex(text: str) -> None:
    with pytest.raises(ValueError, match="Identity"):
        Identity.from_hex(text)


def test_reprs_show_hex() -> None:
    assert repr(Identity(255)) == f"Identity('{255:064x}')"
    assert repr(ConnectionId(1)) == f"ConnectionId('{1:032x}')"


@given(st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999))
def test_timestamp_datetime_round_trip(micros: int) -> None:
    timestamp = Timestamp(micros)
    assert Timestamp.from_datetime(timestamp.to_datetime()) == timestamp
    assert timestamp.seconds == micros / 1_000_000


def test_timestamp_from_datetime_and_seconds() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    timestamp = Timestamp.from_datetime(moment)
    assert timestamp.micros_since_epoch == 1_704_164_645_678_901
    assert Timestamp.from_seconds(1_704_164_645.678901) == timestamp
    shifted = moment.astimezone(timezone(timedelta(hours=5)))
    assert Timestamp.from_datetime(shifted) == timestamp
    assert Timestamp(0) < Timestamp(1)


def test_timestamp_beyond_datetime_range_says_so() -> None:
    with pytest.raises(ValueError, match="outside the range of datetime"):
        Timestamp(-(1 << 62)).to_datetime()


@pytest.mark.parametrize("micros", [-(1 << 63), (1 << 63) - 1, -(1 << 62), 1 << 62])
def test_timestamp_isoformat_and_seconds_never_fail_on_a_stored_time(micros: int) -> None:
    timestamp = Timestamp(micros)
    assert timestamp.isoformat() == f"{micros} µs since the Unix epoch"
    # The float loses microseconds this far out, but converting back stays in range and close.
    back = Timestamp.from_seconds(timestamp.seconds)
    assert abs(back.micros_since_epoch - micros) < 2_048


def test_timestamp_isoformat_in_range_is_iso_8601() -> None:
    assert Timestamp(1).isoformat() == "1970-01-01T00:00:00.000001+00:00"
    assert Timestamp(253_402_300_799_999_999).isoformat() == "9999-12-31T23:59:59.999999+00:00"


@given(st.floats(-1e15, 1e15, allow_nan=False))
def test_micros_from_seconds_rounds_the_exact_value_half_to_even(seconds: float) -> None:
    assert micros_from_seconds(seconds) == round(Fraction(seconds) * 1_000_000)


def test_micros_from_seconds_has_no_range_limit() -> None:
    assert micros_from_seconds(1e300) == int(1e300) * 1_000_000
    assert (
        micros_from_seconds(9_223_372_036_854.775) == 9_223_372_036_854_775_391
    )  # float*1e6: 2**63
    # 1/128 s is exactly 7812.5 µs, 3/128 s exactly 23437.5 µs: ties go to the even neighbour.
    assert (micros_from_seconds(1 / 128), micros_from_seconds(3 / 128)) == (7_812, 23_438)


@given(st.integers(-8_589_934_591_999_999, 8_589_934_591_999_999))
def test_seconds_round_trip_exactly_below_2_to_the_33_seconds(micros: int) -> None:
    assert Timestamp.from_seconds(Timestamp(micros).seconds).micros_since_epoch == micros


def test_timestamp_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        Timestamp.from_datetime(datetime(2024, 1, 1))


def test_timestamp_now_is_recent() -> None:
    assert abs(Timestamp.now().seconds - datetime.now(UTC).timestamp()) < 5


@given(st.integers(-(1 << 62), 1 << 62))
def test_time_duration_round_trip(micros: int) -> None:
    duration = TimeDuration(micros)
    assert TimeDuration.from_timedelta(duration.to_timedelta()) == duration
    assert TimeDuration.from_seconds(duration.seconds).micros == pytest.approx(micros, abs=1 << 10)


def test_row_is_an_immutable_hashable_mapping() -> None:
    row = Row(id="e1", count=3, tags=("a",))
    assert row["id"] == "e1"
    assert row.count == 3
    assert list(row) == ["id", "count", "tags"]
    assert row.as_tuple() == ("e1", 3, ("a",))
    assert row.field_names == ("id", "count", "tags")
    assert len(row) == 3
    assert row == {"id": "e1", "count": 3, "tags": ("a",)}
    assert row == Row.from_fields(("id", "count", "tags"), ("e1", 3, ("a",)))
    assert row != Row(id="e1", count=4, tags=("a",))
    assert row != Row(count=3, id="e1", tags=("a",))  # field order is part of a row
    assert len({row, Row(id="e1", count=3, tags=("a",))}) == 1
    assert repr(row) == "Row(id='e1', count=3, tags=('a',))"
    with pytest.raises(AttributeError, match="immutable"):
        row.id = "e2"
    with pytest.raises(AttributeError, match="no field 'missing'"):
        _ = row.missing
    with pytest.raises(KeyError):
        _ = row["missing"]


def test_row_copies_and_pickles() -> None:
    row = Row(id="e1", nested=Row(a=1))
    assert copy.deepcopy(row) == row
    assert pickle.loads(pickle.dumps(row)) == row  # noqa: S301 - our own data


def test_row_from_fields_checks_lengths() -> None:
    with pytest.raises(ValueError, match="2 field names but 1 values"):
        Row.from_fields(("a", "b"), (1,))


def test_variant_defaults_to_a_unit_payload() -> None:
    assert Variant("Public") == Variant("Public", ())
    assert hash(Variant("A", 1)) == hash(Variant("A", 1))
