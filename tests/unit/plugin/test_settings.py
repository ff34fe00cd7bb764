"""`[nerv.inner_universe]` parsing and token resolution (no server needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nerv_inner_universe.client import TokenStore
from nerv_inner_universe.nerv.errors import ConfigError
from nerv_inner_universe.plugin import PluginSettings


def config(**section: object) -> dict[str, object]:
    return {"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}


def test_defaults_follow_the_design_notes() -> None:
    settings = PluginSettings.from_config({})
    assert (settings.url, settings.database, settings.events) == (
        "http://127.0.0.1:3000",
        "inner-universe",
        "async",
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"databse": "x"}, "unknown key(s) databse"),
        ({"database": "Bad_Name"}, "database 'Bad_Name' must match"),
        ({"events": "maybe"}, "events must be 'sync' or 'async'"),
        ({"queue_size": 0}, "queue_size must be positive"),
        ({"retry_for": -1.0}, "retry_for must be positive"),
    ],
)
def test_invalid_settings_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        PluginSettings.from_config(config(**section))


def test_token_comes_from_setting_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TokenStore(tmp_path / "tokens")
    stored = store.save("local", "inner-universe", "from-store")
    bare = tmp_path / "bare.token"
    bare.write_text("from-bare\n")
    bare.chmod(0o600)
    monkeypatch.delenv("INNER_UNIVERSE_TOKEN", raising=False)
    assert PluginSettings(token_file=stored).resolve_token() == "from-store"
    assert PluginSettings(token_file=bare).resolve_token() == "from-bare"
    monkeypatch.setenv("INNER_UNIVERSE_TOKEN", "from-env")
    assert PluginSettings(token_file=bare).resolve_token() == "from-env"
    assert PluginSettings(token="explicit", token_file=bare).resolve_token() == "explicit"


def test_unreadable_or_missing_token_files_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INNER_UNIVERSE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="does not exist"):
        PluginSettings(token_file=tmp_path / "nope").resolve_token()
    shared = tmp_path / "shared.token"
    shared.write_text("t")
    shared.chmod(0o644)
    with pytest.raises(ConfigError, match="accessible by other users"):
        PluginSettings(token_file=shared).resolve_token()
