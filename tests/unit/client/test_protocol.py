"""The JSON protocol, checked against frames recorded from the real 1.2.0 server."""

from __future__ import annotations

import json

import pytest

from nerv_inner_universe.client import ArgumentError, ConnectionId, Identity, ProtocolError
from nerv_inner_universe.client.protocol import (
    CallReducer,
    Committed,
    Failed,
    IdentityToken,
    OneOffQuery,
    OneOffQueryResponse,
    SubscribeMulti,
    SubscribeMultiApplied,
    SubscriptionError,
    TransactionUpdate,
    UnknownMessage,
    UnsubscribeMulti,
    UnsubscribeMultiApplied,
    parse_server_message,
    serialize_client_message,
)

CALLER = Identity.from_hex("c200fa20f338ee39d0bc900d870ffda629ec2b5f92c122a076feeb4242c6f2bd")


def test_identity_token(frames: dict[str, str]) -> None:
    message = parse_server_message(frames["identity_token"])
    assert message == IdentityToken(
        CALLER, "<redacted>", ConnectionId(291443806839420802406807485471922869514)
    )


def test_subscribe_multi_applied_keeps_rows_as_json_text(frames: dict[str, str]) -> None:
    message = parse_server_message(frames["subscribe_multi_applied"])
    assert isinstance(message, SubscribeMultiApplied)
    assert (message.request_id, message.query_id) == (1, 1)
    (config,) = message.update.tables
    assert config.table_name == "config"
    assert config.deletes == ()
    assert len(config.inserts) == 6
    row = json.loads(config.inserts[0])
    assert row["key"] == "log_level"  # initial rows are keyed by column name


def test_committed_transaction_update(frames: dict[str, str]) -> None:
    message = parse_server_message(frames["transaction_update_update"])
    assert isinstance(message, TransactionUpdate)
    assert isinstance(message.status, Committed)
    (entity,) = message.status.update.tables
    assert entity.table_name == "entity"
    assert len(entity.deletes) == len(entity.inserts) == 1  # an update: delete + insert
    assert isinstance(json.loads(entity.inserts[0]), list)  # transaction rows are positional
    call = message.reducer_call
    assert (call.reducer_name, call.request_id) == ("update_entity", 8)
    assert json.loads(call.args)[0] == "e1"
    assert message.caller_identity == CALLER
    assert message.energy_quanta_used > 0
    assert message.total_host_execution_duration.micros >= 0
    assert message.timestamp.micros_since_epoch > 1_700_000_000_000_000


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        ("transaction_update_failed", 'not_found: entity "zz" does not exist'),
        ("transaction_update_bad_args", "invalid arguments for reducer delete_entity"),
        ("transaction_update_no_such_reducer", "no such reducer"),
    ],
)
def test_failures_carry_request_id_zero(frames: dict[str, str], frame: str, text: str) -> None:
    message = parse_server_message(frames[frame])
    assert isinstance(message, TransactionUpdate)
    assert isinstance(message.status, Failed)
    assert text in message.status.message
    assert message.reducer_call.request_id == 0  # not the id the caller sent


def test_one_off_query_responses(frames: dict[str, str]) -> None:
    ok = parse_server_message(frames["one_off_query_response"])
    assert isinstance(ok, OneOffQueryResponse)
    assert ok.message_id == bytes.fromhex("0000000c")
    assert ok.error is None
    assert [t.table_name for t in ok.tables] == ["entity"]
    failed = parse_server_message(frames["one_off_query_error"])
    assert isinstance(failed, OneOffQueryResponse)
    assert failed.error == "`nope` is not a valid table"
    assert failed.tables == ()


def test_subscription_error(frames: dict[str, str]) -> None:
    message = parse_server_message(frames["subscription_error"])
    assert isinstance(message, SubscriptionError)
    assert (message.request_id, message.query_id, message.table_id) == (2, 2, None)
    assert "`nope` is not a valid table" in message.error


def test_unsubscribe_multi_applied_lists_rows_as_deletes(frames: dict[str, str]) -> None:
    message = parse_server_message(frames["unsubscribe_multi_applied"])
    assert isinstance(message, UnsubscribeMultiApplied)
    assert message.query_id == 1
    assert all(t.inserts == () and t.deletes for t in message.update.tables)


def test_unknown_messages_are_reported_not_fatal() -> None:
    assert parse_server_message('{"Brand New":{}}') == UnknownMessage("Brand New")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "one-key message object"),
        ('{"IdentityToken": 5}', "expected an object"),
        ('{"IdentityToken": {"token": "t"}}', "missing 'identity'"),
        (
            '{"SubscriptionError": {"total_host_execution_duration_micros": "x"}}',
            "expected an integer",
        ),
        (
            '{"OneOffQueryResponse": {"message_id": 5}}',
            "message_id: expected a string",
        ),
        (
            '{"SubscribeMultiApplied": {"request_id": 1, "total_host_execution_duration_micros": 1,'
            ' "query_id": {"id": 1}, "update": {"tables": [{"table_id": 1, "table_name": "t",'
            ' "num_rows": 1, "updates": [{"deletes": [], "inserts": [5]}]}]}}}',
            "list of JSON texts",
        ),
    ],
)
def test_malformed_frames_raise_protocol_error(frame: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_server_message(frame)


def test_transaction_status_must_be_known(frames: dict[str, str]) -> None:
    raw = json.loads(frames["transaction_update_failed"])
    raw["TransactionUpdate"]["status"] = {"Exploded": []}
    with pytest.raises(ProtocolError, match="unknown status"):
        parse_server_message(json.dumps(raw))


def test_client_messages_serialise_as_the_server_reads_them() -> None:
    call = serialize_client_message(CallReducer("r", '["a",1]', 7))
    assert json.loads(call) == {
        "CallReducer": {"reducer": "r", "args": '["a",1]', "request_id": 7, "flags": 0}
    }
    assert json.loads(serialize_client_message(SubscribeMulti(("SELECT 1",), 2, 3))) == {
        "SubscribeMulti": {"query_strings": ["SELECT 1"], "request_id": 2, "query_id": {"id": 3}}
    }
    assert json.loads(serialize_client_message(UnsubscribeMulti(4, 3))) == {
        "UnsubscribeMulti": {"request_id": 4, "query_id": {"id": 3}}
    }
    assert json.loads(serialize_client_message(OneOffQuery(b"\x00\x0c", "SELECT 2"))) == {
        "OneOffQuery": {"message_id": "000c", "query_string": "SELECT 2"}
    }


def test_json_protocol_refuses_binary_arguments() -> None:
    with pytest.raises(ArgumentError, match="JSON text"):
        serialize_client_message(CallReducer("r", b"\x00", 1))


_APPLIED = (
    '{"SubscribeMultiApplied": {"request_id": 1, "total_host_execution_duration_micros": 1, '
    '"query_id": %s, "update": %s}}'
)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (
            _APPLIED
            % (
                '{"id": 1}',
                '{"tables": [{"table_id": 1, "table_name": "t", "num_rows": 1, "updates": '
                '[{"deletes": [], "inserts": ["x"]}, {"deletes": [], "inserts": [5]}]}]}',
            ),
            "SubscribeMultiApplied.update.tables[0].updates[1].inserts: expected a list of JSON "
            "texts",
        ),
        (
            _APPLIED
            % ('{"id": 1}', '{"tables": [{"table_id": 1, "table_name": "t", "updates": [7]}]}'),
            "SubscribeMultiApplied.update.tables[0].updates[0]: expected an object, got int",
        ),
        (_APPLIED % ("3", "{}"), "SubscribeMultiApplied.query_id: expected an object, got int"),
        (
            '{"IdentityToken": {"identity": {"__identity__": "0xzz"}, "token": "t", '
            '"connection_id": {"__connection_id__": 1}}}',
            "IdentityToken.identity.__identity__: '0xzz' is not a 256-bit integer",
        ),
    ],
)
def test_a_malformed_frame_s_error_names_the_path_of_the_value(frame: str, error: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_server_message(frame)
    assert str(caught.value) == error
