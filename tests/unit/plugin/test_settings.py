"""`[nerv.inner_universe]` parsing, ``NERV_INNER_UNIVERSE_*`` overrides and token resolution
(no server needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nerv_inner_universe.client import TokenStore
from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.plugin import PluginSettings


def config(**section: object) -> dict[str, object]:
    return {"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}


def test_defaults_follow_the_design_notes() -> None:
    settings = PluginSettings.from_config({}, env={})
    assert (settings.url, settings.database, settings.events) == (
        "http://127.0.0.1:3000",
        "inner-universe",
        "async",
    )
    assert (settings.call_timeout, settings.retry_for, settings.follow_remote) == (
        30.0,
        300.0,
        True,
    )
    assert (
        settings.durability_window,
        settings.durability_retain,
        settings.durability_retain_bytes,
    ) == (5.0, 250_000, 32 << 20)
    assert settings.max_message_bytes == 256 << 20
    assert (settings.protocol, settings.direct_writes) == ("bsatn", True)


def test_reads_its_table_then_the_environment(tmp_path: Path) -> None:
    section = {"url": "https://iu.example:3100", "follow_remote": False, "call_timeout": 5}
    env = {
        "NERV_INNER_UNIVERSE_EVENTS": "sync",
        "NERV_INNER_UNIVERSE_FOLLOW_REMOTE": "off",
        "NERV_INNER_UNIVERSE_RETRY_FOR": "2.5",
        "NERV_INNER_UNIVERSE_PROTOCOL": "json",
        "NERV_INNER_UNIVERSE_TOKEN_FILE": str(tmp_path / "t"),
        "NERV_INNER_UNIVERSE_CACHE": "the toolchain's cache, not a setting",
        "INNER_UNIVERSE_PORT": "the controller's",
    }
    settings = PluginSettings.from_config(config(**section), env=env)
    assert settings.url == "https://iu.example:3100"
    assert settings.events == "sync"
    assert settings.follow_remote is False
    assert (settings.call_timeout, settings.retry_for) == (5.0, 2.5)
    assert settings.token_file == tmp_path / "t"
    assert settings.protocol == "json"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"databse": "x"},
            "nerv.inner_universe.databse: is not a setting (did you mean database?)",
        ),
        ({"colour": 1}, "nerv.inner_universe.colour: is not a setting; known keys: url, database"),
        ({"database": "Bad_Name"}, "nerv.inner_universe.database: must be lowercase letters"),
        ({"database": 7}, "nerv.inner_universe.database: must be lowercase letters"),
        ({"url": "127.0.0.1:3000"}, "nerv.inner_universe.url: must be an http:// or https://"),
        (
            {"url": "http://h:3000/db"},
            "nerv.inner_universe.url: must be an http:// or https:// URL of a server",
        ),
        ({"url": 3000}, "nerv.inner_universe.url: must be an http:// or https://"),
        ({"token": 12345}, "nerv.inner_universe.token: must be a token: printable ASCII"),
        ({"token_file": 1}, "nerv.inner_universe.token_file: must be a path string"),
        ({"events": "maybe"}, "nerv.inner_universe.events: must be 'sync' or 'async'"),
        ({"queue_size": 0}, "nerv.inner_universe.queue_size: must be an integer from 1 to"),
        ({"queue_size": "10"}, "nerv.inner_universe.queue_size: must be an integer from 1 to"),
        ({"batch_size": 1001}, "nerv.inner_universe.batch_size: must be an integer from 1 to 1000"),
        ({"call_timeout": 0}, "nerv.inner_universe.call_timeout: must be a number of seconds"),
        ({"retry_for": -1.0}, "nerv.inner_universe.retry_for: must be a number of seconds"),
        ({"retry_for": "5"}, "nerv.inner_universe.retry_for: must be a number of seconds"),
        ({"durability_window": 0}, "nerv.inner_universe.durability_window: must be a number of"),
        ({"durability_retain": 0}, "nerv.inner_universe.durability_retain: must be an integer"),
        ({"follow_remote": "false"}, "nerv.inner_universe.follow_remote: must be true or false"),
        ({"follow_remote": 0}, "nerv.inner_universe.follow_remote: must be true or false"),
        ({"direct_writes": "no"}, "nerv.inner_universe.direct_writes: must be true or false"),
        ({"protocol": "binary"}, "nerv.inner_universe.protocol: must be 'bsatn' or 'json'"),
        (
            {"max_message_bytes": 1024},
            "nerv.inner_universe.max_message_bytes: must be an integer from 65536 to",
        ),
    ],
)
def test_invalid_settings_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        PluginSettings.from_config(config(**section), env={})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NERV_INNER_UNIVERSE_FOLLOW_REMOTE", "nope", "must be true or false"),
        ("NERV_INNER_UNIVERSE_BATCH_SIZE", "ten", "must be an integer from 1 to 1000, got 'ten'"),
        ("NERV_INNER_UNIVERSE_BATCH_SIZE", "0", "must be an integer from 1 to 1000, got 0"),
        ("NERV_INNER_UNIVERSE_CALL_TIMEOUT", "soon", "must be a number of seconds"),
        ("NERV_INNER_UNIVERSE_EVENTS", "later", "must be 'sync' or 'async'"),
        ("NERV_INNER_UNIVERSE_URL", "", "must be an http:// or https:// URL"),
        ("NERV_INNER_UNIVERSE_DATABSE", "x", "did you mean NERV_INNER_UNIVERSE_DATABASE?"),
    ],
)
def test_invalid_variables_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PluginSettings.from_config({}, env={name: value})
    assert caught.value.key == name
    assert message in caught.value.reason


def test_the_token_never_shows() -> None:
    settings = PluginSettings(token="s3cret-token")
    assert "s3cret-token" not in repr(settings)
    assert "token_file=None" in repr(settings)
    loaded = PluginSettings.from_config({}, env={"NERV_INNER_UNIVERSE_TOKEN": "s3cret-token"})
    assert loaded.token == "s3cret-token"
    assert "s3cret-token" not in repr(loaded)
    with pytest.raises(ConfigError) as caught:
        PluginSettings.from_config(config(token=["s3cret-token"]), env={})
    assert "s3cret-token" not in str(caught.value)
    assert "got a list (hidden)" in str(caught.value)


def test_direct_construction_validates_too() -> None:
    refused = r"^follow_remote: must be true or false .*, got 'false'$"
    with pytest.raises(ConfigError, match=refused):
        PluginSettings(follow_remote="false")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^url: "):
        PluginSettings(url="localhost")


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
    with pytest.raises(ConfigError, match=r"^nerv.inner_universe.token_file: .* does not exist"):
        PluginSettings(token_file=tmp_path / "nope").resolve_token()
    shared = tmp_path / "shared.token"
    shared.write_text("t")
    shared.chmod(0o644)
    with pytest.raises(ConfigError, match="accessible by other users"):
        PluginSettings(token_file=shared).resolve_token()


def test_a_token_that_is_a_token_file_s_json_is_refused_without_showing_it() -> None:
    text = '{\n  "token": "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.c2ln"\n}'
    with pytest.raises(ConfigError, match="printable ASCII") as caught:
        PluginSettings(token=text)
    assert "c2VjcmV0" not in str(caught.value)


def test_a_token_file_that_is_empty_or_a_folder_is_a_config_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.token"
    empty.write_text("")
    empty.chmod(0o600)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="is empty"):
        PluginSettings(token_file=empty).resolve_token()
    with pytest.raises(ConfigError, match="is not a file"):
        PluginSettings(token_file=folder).resolve_token()
