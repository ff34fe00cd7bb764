"""InnerUniverseConfig: defaults, TOML sections, environment overrides, and refusals that name
the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerv_inner_universe.controller import ConfigError, InnerUniverseConfig, load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_the_upstream_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.address == "127.0.0.1"
    assert config.port == 3000
    assert config.db_path == tmp_path / "inner_universe_db"
    assert config.database == "inner-universe"
    assert (config.max_connections, config.timeout, config.auth_required) == (100, 30.0, True)
    assert config.snapshot_interval == 50
    assert config.server_url is None
    assert config.restart_on_exit is False
    assert config.server_log == tmp_path / "inner_universe_db" / "server.log"
    assert config.url == "http://127.0.0.1:3000"


def test_reads_its_table_and_resolves_paths_against_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "atlas.toml",
        """
[services.inner_universe]
port = 4100
db_path = "data/iu"
database = "atlas-main"
auth_required = false
snapshot_interval = 7
timeout = 2
log_file = "logs/server.log"
restart_on_exit = true

[other]
port = "ignored"
""",
    )
    config = load_config(path, section="services.inner_universe", env={})
    assert config.port == 4100
    assert config.db_path == tmp_path / "data" / "iu"
    assert config.server_log == tmp_path / "logs" / "server.log"
    assert config.database == "atlas-main"
    assert config.auth_required is False
    assert config.restart_on_exit is True
    assert config.timeout == 2.0
    assert isinstance(config.timeout, float)
    assert config.module_config == {
        "snapshot_interval": 7,
        "max_connections": 100,
        "timeout": 2.0,
        "auth_required": False,
    }


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "iu.toml", "[inner_universe]\nport = 4100\nauth_required = true\n")
    env = {
        "INNER_UNIVERSE_PORT": " 4200 ",
        "INNER_UNIVERSE_AUTH_REQUIRED": "no",
        "INNER_UNIVERSE_TIMEOUT": "0.5",
        "INNER_UNIVERSE_SERVER_URL": "http://10.0.0.5:3000/",
        "INNER_UNIVERSE_CONFIG": "not a setting: names the file",
        "INNER_UNIVERSE_TOKEN": "the plugin's, not ours",
        "UNRELATED": "x",
    }
    config = load_config(path, env=env)
    assert config.port == 4200
    assert config.auth_required is False
    assert config.timeout == 0.5
    assert config.server_url == "http://10.0.0.5:3000/"
    assert config.url == "http://10.0.0.5:3000"


def test_an_empty_optional_variable_unsets_it() -> None:
    assert load_config(env={"INNER_UNIVERSE_SERVER_URL": ""}).server_url is None


@pytest.mark.parametrize(
    ("toml", "named", "reason"),
    [
        ("port = 0", "inner_universe.port in", "an integer from 1 to 65535"),
        ("port = 70000", "inner_universe.port in", "an integer from 1 to 65535"),
        ('port = "3000"', "inner_universe.port in", "must be an integer"),
        ("port = true", "inner_universe.port in", "must be an integer"),
        ('database = "Inner_Universe"', "inner_universe.database in", "lowercase letters"),
        ('database = "a--b"', "inner_universe.database in", "lowercase letters"),
        ("max_connections = 0", "inner_universe.max_connections in", "from 1"),
        ("timeout = -5", "inner_universe.timeout in", "seconds greater than 0"),
        ("timeout = 0", "inner_universe.timeout in", "seconds greater than 0"),
        ("timeout = nan", "inner_universe.timeout in", "seconds greater than 0"),
        ('timeout = "30"', "inner_universe.timeout in", "seconds greater than 0"),
        ("timeout = true", "inner_universe.timeout in", "seconds greater than 0"),
        ("timeout_ms = 30000", "inner_universe.timeout_ms in", "did you mean timeout?"),
        ("snapshot_interval = 0", "inner_universe.snapshot_interval in", "from 1"),
        ('auth_required = "yes"', "inner_universe.auth_required in", "true or false"),
        ('auth_required = "false"', "inner_universe.auth_required in", "got 'false'"),
        ('restart_on_exit = "false"', "inner_universe.restart_on_exit in", "got 'false'"),
        ("restart_on_exit = 0", "inner_universe.restart_on_exit in", "true or false"),
        ("db_path = 5", "inner_universe.db_path in", "a path string"),
        ("address = 127", "inner_universe.address in", "host name"),
        ('address = "http://x"', "inner_universe.address in", "host name"),
        ('server_url = "ftp://x"', "inner_universe.server_url in", "http:// or https://"),
        ('server_url = "http://x/db"', "inner_universe.server_url in", "without a path"),
        ("prot = 3000", "inner_universe.prot in", "is not a setting (did you mean port?)"),
        ("colour = 1", "inner_universe.colour in", "is not a setting; known keys: address, port"),
    ],
)
def test_invalid_file_values_name_the_key(
    tmp_path: Path, toml: str, named: str, reason: str
) -> None:
    path = write(tmp_path / "iu.toml", f"[inner_universe]\n{toml}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(named), message
    assert str(path) in message
    assert reason in message


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("INNER_UNIVERSE_PORT", "abc", "must be an integer from 1 to 65535, got 'abc'"),
        ("INNER_UNIVERSE_PORT", "0", "an integer from 1 to 65535"),
        ("INNER_UNIVERSE_AUTH_REQUIRED", "maybe", "must be true or false"),
        ("INNER_UNIVERSE_TIMEOUT", "30s", "seconds greater than 0 and at most 86400, got '30s'"),
        ("INNER_UNIVERSE_TIMEOUT", "-1", "seconds greater than 0 and at most 86400, got -1.0"),
        ("INNER_UNIVERSE_TIMEOUT", "inf", "seconds greater than 0"),
        ("INNER_UNIVERSE_DB_PATH", "", "a path string, got ''"),
        ("INNER_UNIVERSE_DATABASE", "-x", "lowercase letters"),
        (
            "INNER_UNIVERSE_PROT",
            "3000",
            "is not a setting; did you mean INNER_UNIVERSE_PORT?",
        ),
        ("INNER_UNIVERSE_DBPATH", "x", "did you mean INNER_UNIVERSE_DB_PATH?"),
    ],
)
def test_invalid_environment_values_name_the_variable(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={name: value})
    assert caught.value.key == name
    assert str(caught.value).startswith(f"{name}: ")
    assert reason in str(caught.value)


def test_missing_file_section_and_bad_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", env={})
    other = write(tmp_path / "other.toml", "[something]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"has no \[nerv.inner_universe\] table"):
        load_config(other, section="nerv.inner_universe", env={})
    broken = write(tmp_path / "broken.toml", "[inner_universe\nport = 1\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(broken, env={})
    scalar = write(tmp_path / "scalar.toml", "inner_universe = 3\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(scalar, env={})


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigError, match=r"^port: must be an integer from 1 to 65535"):
        InnerUniverseConfig(port=0)
    with pytest.raises(ConfigError, match=r"^auth_required: must be true or false"):
        InnerUniverseConfig(auth_required="false")  # type: ignore[arg-type]
    assert InnerUniverseConfig(db_path=Path("relative")).db_path.is_absolute()
    assert InnerUniverseConfig(timeout=3).timeout == 3.0


def test_the_variables_naming_the_file_and_table_are_not_settings() -> None:
    env = {"INNER_UNIVERSE_CONFIG": "x.toml", "INNER_UNIVERSE_CONFIG_SECTION": "a.b"}
    assert load_config(env=env) == load_config(env={})


@pytest.mark.parametrize(
    ("key", "value"),
    [("snapshot_interval", 20_000), ("max_connections", 200_000), ("timeout", 100_000.0)],
)
def test_module_settings_past_the_module_s_limits_are_refused_before_anything_starts(
    key: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=key):
        InnerUniverseConfig(**{key: value})  # type: ignore[arg-type]
