"""The BSATN protocol, against frames laid out here by hand from 1.2.0's ``websocket.rs``."""

from __future__ import annotations

import gzip
import struct

import pytest

from nerv_inner_universe.client import (
    ArgumentError,
    ConnectionId,
    Identity,
    ProtocolError,
    TimeDuration,
    Timestamp,
)
from nerv_inner_universe.client.bsatn_protocol import parse_server_message, serialize_client_message
from nerv_inner_universe.client.protocol import (
    CallReducer,
    Committed,
    DatabaseUpdate,
    Failed,
    IdentityToken,
    OneOffQuery,
    OneOffQueryResponse,
    OneOffTable,
    OutOfEnergy,
    ReducerCallInfo,
    SubscribeMulti,
    SubscribeMultiApplied,
    SubscriptionError,
    TableUpdate,
    TransactionUpdate,
    UnknownMessage,
    UnsubscribeMulti,
    UnsubscribeMultiApplied,
)

CALLER = Identity(0xC2 << 248 | 7)
CONNECTION = ConnectionId(0xAB << 120 | 5)


def u8(n: int) -> bytes:
    return struct.pack("<B", n)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def text(s: str) -> bytes:
    return u32(len(s.encode())) + s.encode()


def blob(b: bytes) -> bytes:
    return u32(len(b)) + b


def fixed_rows(size: int, *rows: bytes) -> bytes:
    return u8(0) + struct.pack("<H", size) + blob(b"".join(rows))


def offset_rows(*rows: bytes) -> bytes:
    offsets = [sum(len(r) for r in rows[:i]) for i in range(len(rows))]
    return u8(1) + u32(len(rows)) + b"".join(u64(o) for o in offsets) + blob(b"".join(rows))


def table_update(table_id: int, name: str, *query_updates: bytes) -> bytes:
    return u32(table_id) + text(name) + u64(0) + u32(len(query_updates)) + b"".join(query_updates)


ENTITY_UPDATE = u32(1) + table_update(
    4,
    "entity",
    u8(0) + fixed_rows(2, b"ab", b"cd") + offset_rows(b"x", b"", b"yz"),
    u8(0) + offset_rows() + fixed_rows(1, b"q"),
)
ENTITY_TABLES = DatabaseUpdate(
    (TableUpdate(4, "entity", (b"ab", b"cd"), (b"x", b"", b"yz", b"q")),)
)


def transaction(status: bytes, request_id: int = 9) -> bytes:
    return (
        u8(0)  # not compressed
        + u8(1)  # TransactionUpdate
        + status
        + struct.pack("<q", 1_764_400_000_000_000)
        + CALLER.value.to_bytes(32, "little")
        + CONNECTION.value.to_bytes(16, "little")
        + text("create_entity")
        + u32(3)
        + blob(b"\x01args")
        + u32(request_id)
        + (1234).to_bytes(16, "little")
        + struct.pack("<q", 56)
    )


def expected_transaction(status: object, request_id: int = 9) -> TransactionUpdate:
    return TransactionUpdate(
        status=status,  # type: ignore[arg-type]
        timestamp=Timestamp(1_764_400_000_000_000),
        caller_identity=CALLER,
        caller_connection_id=CONNECTION,
        reducer_call=ReducerCallInfo("create_entity", 3, b"\x01args", request_id),
        energy_quanta_used=1234,
        total_host_execution_duration=TimeDuration(56),
    )


COMMITTED = transaction(u8(0) + ENTITY_UPDATE)
FRAMES = {
    "identity": (
        u8(0)
        + u8(3)
        + CALLER.value.to_bytes(32, "little")
        + text("tok")
        + CONNECTION.value.to_bytes(16, "little"),
        IdentityToken(CALLER, "tok", CONNECTION),
    ),
    "committed": (COMMITTED, expected_transaction(Committed(ENTITY_TABLES))),
    "failed": (
        transaction(u8(1) + text("E_NOPE: no"), request_id=0),
        expected_transaction(Failed("E_NOPE: no"), request_id=0),
    ),
    "out of energy": (transaction(u8(2)), expected_transaction(OutOfEnergy())),
    "subscribed": (
        u8(0) + u8(8) + u32(5) + u64(77) + u32(6) + ENTITY_UPDATE,
        SubscribeMultiApplied(5, 77, 6, ENTITY_TABLES),
    ),
    "unsubscribed": (
        u8(0) + u8(9) + u32(5) + u64(77) + u32(6) + u32(0),
        UnsubscribeMultiApplied(5, 77, 6, DatabaseUpdate(())),
    ),
    "subscription error": (
        u8(0) + u8(7) + u64(3) + u8(0) + u32(5) + u8(1) + u8(0) + u32(4) + text("bad"),
        SubscriptionError(3, 5, None, 4, "bad"),
    ),
    "one-off": (
        u8(0)
        + u8(4)
        + blob(b"\x00\x00\x00\x02")
        + u8(1)
        + u32(1)
        + text("config")
        + offset_rows(b"r1", b"r22")
        + struct.pack("<q", 8),
        OneOffQueryResponse(
            b"\x00\x00\x00\x02", None, (OneOffTable("config", (b"r1", b"r22")),), TimeDuration(8)
        ),
    ),
    "one-off error": (
        u8(0) + u8(4) + blob(b"\x07") + u8(0) + text("no such table") + u32(0) + u64(1),
        OneOffQueryResponse(b"\x07", "no such table", (), TimeDuration(1)),
    ),
}


@pytest.mark.parametrize(("frame", "message"), FRAMES.values(), ids=FRAMES.keys())
def test_server_messages(frame: bytes, message: object) -> None:
    assert parse_server_message(frame) == message


@pytest.mark.parametrize(("frame", "message"), FRAMES.values(), ids=FRAMES.keys())
def test_a_compressed_frame_is_refused_however_small(frame: bytes, message: object) -> None:
    for tag, name in ((1, "brotli"), (2, "gzip")):
        with pytest.raises(ProtocolError, match=f"a server frame is {name}-compressed"):
            parse_server_message(u8(tag) + gzip.compress(frame[1:]))


@pytest.mark.parametrize(("frame", "message"), FRAMES.values(), ids=FRAMES.keys())
def test_every_cut_or_extended_frame_is_a_protocol_error(frame: bytes, message: object) -> None:
    for end in range(1, len(frame)):
        with pytest.raises(ProtocolError):
            parse_server_message(frame[:end])
    with pytest.raises(ProtocolError, match=r"1 trailing byte\(s\)"):
        parse_server_message(frame + b"\0")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"", "non-empty binary frames"),
        ('{"IdentityToken": {}}', "binary frames, got str"),
        (u8(0), "holds no message"),
        (u8(1) + b"\x0b\x00", "brotli-compressed, which this client does not read"),
        (u8(3) + u8(1), "unknown compression tag 3"),
        (transaction(u8(3)), "3 is not an update status"),
        (transaction(u8(0) + u32(1) + table_update(1, "t", u8(1) + blob(b"x"))), "brotli"),
        (
            transaction(u8(0) + u32(1) + table_update(1, "t", u8(2) + blob(gzip.compress(b"")))),
            "a query update is gzip-compressed",
        ),
        (transaction(u8(0) + u32(1) + table_update(1, "t", u8(0) + u8(2))), "not a row size hint"),
        (
            transaction(u8(0) + u32(1) + table_update(1, "t", u8(0) + fixed_rows(2, b"abc") * 2)),
            "3 bytes of rows are not rows of 2 bytes",
        ),
        (
            transaction(
                u8(0)
                + u32(1)
                + table_update(1, "t", u8(0) + u8(1) + u32(2) + u64(0) + u64(5) + blob(b"ab") * 2)
            ),
            "do not split 2 bytes",
        ),
        (u8(0) + u8(7) + u64(3) + u8(2), "tag 2 is not a variant of Option<U32>"),
    ],
)
def test_malformed_frames_are_protocol_errors(frame: bytes | str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_server_message(frame)


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        (0, "InitialSubscription"),
        (2, "TransactionUpdateLight"),
        (5, "SubscribeApplied"),
        (6, "UnsubscribeApplied"),
        (10, "tag 10"),
    ],
)
def test_messages_this_client_does_not_read_are_unknown(tag: int, kind: str) -> None:
    assert parse_server_message(u8(0) + u8(tag) + b"anything") == UnknownMessage(kind)


def test_client_messages_serialise_as_the_server_reads_them() -> None:
    assert serialize_client_message(CallReducer("go", b"\x01\x02", 7)) == (
        u8(0) + text("go") + blob(b"\x01\x02") + u32(7) + u8(0)
    )
    assert serialize_client_message(OneOffQuery(b"\x00\x01", "SELECT 1")) == (
        u8(2) + blob(b"\x00\x01") + text("SELECT 1")
    )
    assert serialize_client_message(SubscribeMulti(("SELECT * FROM a", "é"), 3, 4)) == (
        u8(4) + u32(2) + text("SELECT * FROM a") + text("é") + u32(3) + u32(4)
    )
    assert serialize_client_message(UnsubscribeMulti(3, 4)) == u8(6) + u32(3) + u32(4)


def test_bsatn_protocol_refuses_json_arguments() -> None:
    with pytest.raises(ArgumentError, match="as bytes, not JSON text"):
        serialize_client_message(CallReducer("go", "[]", 7))
