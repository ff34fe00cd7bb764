"""Numbers from config text, TOML and backup manifests: ASCII digits only, typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerv_inner_universe.controller import ConfigError, RestoreError, load_config
from nerv_inner_universe.controller.backup import BackupManifest

HUGE_TEXT = "1" * 5000


@pytest.mark.parametrize("value", ["\u0662", "\u00b2", "3_000", "+3000", "--1", HUGE_TEXT, "-"])
def test_an_integer_setting_from_the_environment_is_ascii_digits(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"INNER_UNIVERSE_PORT": value})
    assert "must be an integer" in str(caught.value)
    assert len(str(caught.value)) < 300


def test_an_integer_setting_in_ascii_digits_is_read() -> None:
    assert load_config(env={"INNER_UNIVERSE_PORT": " 3001 "}).port == 3001


def test_a_toml_integer_past_the_int_str_limit_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "iu.toml"
    path.write_text(f"[inner_universe]\nport = {HUGE_TEXT}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(path, env={})


@pytest.mark.parametrize(
    ("key", "value"),
    [("log_position", "\u0662"), ("log_position", True), ("log_position", -1), ("size", "7")],
)
def test_a_manifest_count_must_be_a_json_integer(key: str, value: object) -> None:
    raw: dict[str, object] = {
        "format": "inner-universe-backup",
        "version": 1,
        "database": "d",
        "database_identity": "c200",
        "created_at": 1.0,
        "module_sha256": None,
        "server_version": "1.2.0",
        "log_position": 3,
        "row_counts": {"entity": 1},
        "files": {"keys/id_ecdsa": {"sha256": "00", "size": 1}},
    }
    if key == "size":
        raw["files"] = {"keys/id_ecdsa": {"sha256": "00", "size": value}}
    else:
        raw[key] = value
    with pytest.raises(RestoreError, match="incomplete or malformed"):
        BackupManifest.from_json(json.loads(json.dumps(raw)))
