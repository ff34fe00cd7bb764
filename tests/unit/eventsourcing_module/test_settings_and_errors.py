"""The persistence module's pure parts: its environment keys and how client errors become the
`eventsourcing` library's errors."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import (
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from eventsourcing.utils import Environment

from nerv_inner_universe.client import ArgumentError, CallTimeoutError, QueryError
from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.contract import ReducerRefusedError
from nerv_inner_universe.eventsourcing_module import EsSettings
from nerv_inner_universe.eventsourcing_module.datastore import translated


def test_defaults_without_keys() -> None:
    settings = EsSettings.from_environment(Environment())
    assert settings == EsSettings()
    assert settings.url == "http://127.0.0.1:3000"
    assert settings.originator_id_type == "uuid"
    assert settings.store_prefix == ""


def test_keys_and_per_application_overrides() -> None:
    env = Environment(
        "Bank",
        {
            "SPACETIMEDB_URL": "http://db:3000",
            "SPACETIMEDB_DATABASE": "ledger",
            "BANK_SPACETIMEDB_DATABASE": "bank",
            "SPACETIMEDB_TOKEN": "secret-token",
            "SPACETIMEDB_CALL_TIMEOUT": "2.5",
            "SPACETIMEDB_STORE_PREFIX": "tenant-1/",
            "ORIGINATOR_ID_TYPE": "text",
        },
    )
    settings = EsSettings.from_environment(env)
    assert (settings.url, settings.database, settings.token) == (
        "http://db:3000",
        "bank",
        "secret-token",
    )
    assert settings.call_timeout == 2.5
    assert settings.store_prefix == "tenant-1/"
    assert settings.originator_id_type == "text"
    assert "secret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SPACETIMEDB_URL", "db:3000"),
        ("SPACETIMEDB_DATABASE", "Not_A_Name"),
        ("SPACETIMEDB_CALL_TIMEOUT", "0"),
        ("SPACETIMEDB_STORE_PREFIX", "has space"),
        ("ORIGINATOR_ID_TYPE", "int"),
    ],
)
def test_a_wrong_value_names_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        EsSettings.from_environment(Environment(env={key: value}))
    assert refused.value.key == key


def test_client_errors_become_library_errors() -> None:
    taken = translated(ReducerRefusedError("es_insert_events", "integrity_error: taken"))
    assert isinstance(taken, IntegrityError)
    assert "integrity_error: taken" in str(taken)
    assert isinstance(
        translated(ReducerRefusedError("es_insert_events", "invalid_argument: bad")), DataError
    )
    assert isinstance(
        translated(ReducerRefusedError("es_insert_events", "permission_denied: no")),
        OperationalError,
    )
    limited = translated(ReducerRefusedError("es_insert_events", "rate_limited: resets at T"))
    assert isinstance(limited, OperationalError)
    assert "rate_limited: resets at T" in str(limited)
    assert isinstance(translated(ArgumentError("events[0]: expected bytes")), DataError)
    assert isinstance(translated(QueryError("SELECT", "no such table")), ProgrammingError)
    assert isinstance(translated(CallTimeoutError("es_insert_events", 7, 1.0)), OperationalError)
