"""The generic loader: how each kind of field reads TOML and environment text, and what it
refuses (the three real tables have their own tests beside their layers)."""

from __future__ import annotations

import copy
from pathlib import Path

import attrs
import pytest

from nerv_inner_universe.config import ConfigError, fields, load, read_toml, table_in


@attrs.frozen(kw_only=True)
class Example:
    count: int = fields.integer(3, low=1, high=10)
    wait: float = fields.seconds(1.5)
    enabled: bool = fields.boolean(False)
    name: str | None = fields.text(None, optional=True)
    secret: str | None = fields.text(None, optional=True, secret=True)
    mode: str = fields.choice("a", ("a", "b"))
    where: Path | None = fields.path(None, optional=True)
    items: tuple[str, ...] = fields.names()


def load_example(table: dict[str, object], env: dict[str, str] | None = None) -> Example:
    return load(Example, table, section="ex", env_prefix="EX_", env=env or {})


def test_toml_values_keep_their_types_and_the_environment_wins(tmp_path: Path) -> None:
    source = tmp_path / "conf" / "app.toml"
    table = {"count": 4, "wait": 2, "enabled": True, "where": "data", "items": ["x", "y"]}
    loaded = load(
        Example, table, section="ex", env_prefix="EX_", env={"EX_COUNT": "5"}, source=source
    )
    assert loaded == Example(
        count=5, wait=2.0, enabled=True, where=tmp_path / "conf" / "data", items=("x", "y")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("yes", True), ("ON", True), ("true", True), ("0", False), ("false", False)],
)
def test_boolean_variables_read_common_spellings(text: str, expected: bool) -> None:
    assert load_example({}, {"EX_ENABLED": text}).enabled is expected


def test_empty_variables_unset_optional_values() -> None:
    loaded = load_example({"name": "n", "where": "/x"}, {"EX_NAME": "", "EX_WHERE": ""})
    assert (loaded.name, loaded.where) == (None, None)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"count": 11}, "ex.count: must be an integer from 1 to 10, got 11"),
        ({"count": 2.0}, "ex.count: must be an integer from 1 to 10, got 2.0"),
        ({"wait": "1"}, "ex.wait: must be a number of seconds greater than 0, got '1'"),
        ({"wait": float("inf")}, "ex.wait: must be a number of seconds greater than 0, got inf"),
        ({"enabled": "false"}, "ex.enabled: must be true or false"),
        ({"name": ""}, "ex.name: must be a non-empty string (or unset), got ''"),
        ({"mode": "c"}, "ex.mode: must be 'a' or 'b', got 'c'"),
        ({"items": "x"}, "ex.items: must be a list of non-empty strings, got 'x'"),
        ({"where": ["x"]}, "ex.where: must be a path string (or unset), got ['x']"),
        ({"secret": 42}, "ex.secret: must be a non-empty string (or unset), got a int (hidden)"),
        ({"cuont": 1}, "ex.cuont: is not a setting (did you mean count?); known keys: count"),
        ({"sub": {"x": 1}}, "ex.sub: is not a setting; known keys: count, wait"),
    ],
)
def test_bad_table_values_name_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_example(table)
    assert str(caught.value).startswith(message)


def test_foreign_tables_are_left_to_their_owners() -> None:
    table = {"count": 2, "plugin": {"anything": [1]}}
    loaded = load(Example, table, section="ex", env_prefix="EX_", env={}, foreign_tables=True)
    assert loaded.count == 2
    with pytest.raises(ConfigError, match=r"^ex.plugin: is not a setting"):
        load(Example, {"plugin": 1}, section="ex", env_prefix="EX_", env={}, foreign_tables=True)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EX_COUNT", "three", "must be an integer from 1 to 10, got 'three'"),
        ("EX_WAIT", "nan", "must be a number of seconds greater than 0, got nan"),
        (
            "EX_ENABLED",
            "maybe",
            "must be true or false (in the environment also 1/0, yes/no, on/off), got 'maybe'",
        ),
        ("EX_MODE", "", "must be 'a' or 'b', got ''"),
        ("EX_COUTN", "1", "is not a setting; did you mean EX_COUNT?"),
    ],
)
def test_bad_variables_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_example({}, {name: value})
    assert (caught.value.key, caught.value.reason) == (name, message)


def test_unrelated_variables_sharing_the_prefix_are_left_alone() -> None:
    assert load_example({}, {"EX_SOMETHING_ELSE": "x", "OTHER_COUNT": "99"}) == Example()


def test_secrets_stay_out_of_repr_and_messages() -> None:
    loaded = load_example({}, {"EX_SECRET": "hunter2"})
    assert loaded.secret == "hunter2"
    assert "hunter2" not in repr(loaded)


def test_tables_and_files(tmp_path: Path) -> None:
    document = {"a": {"b": {"count": 1}}, "s": 3}
    assert table_in(document, "a.b") == {"count": 1}
    assert table_in(document, "a.c") == {}
    with pytest.raises(ConfigError, match=r"^the configuration: has no \[a.c\] table"):
        table_in(document, "a.c", required=True)
    with pytest.raises(ConfigError, match=r"^s: must be a table"):
        table_in(document, "s")
    with pytest.raises(ConfigError, match="does not exist"):
        read_toml(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_toml(broken)


def test_only_config_fields_can_be_loaded() -> None:
    @attrs.frozen
    class Plain:
        count: int = 1

    with pytest.raises(TypeError, match=r"Plain.count is not a config field"):
        load(Plain, {}, section="p", env_prefix="P_", env={})


def test_the_error_names_where_and_survives_copying() -> None:
    error = ConfigError("EX_COUNT", "must be an integer")
    assert str(error) == "EX_COUNT: must be an integer"
    copied = copy.deepcopy(error)
    assert (copied.key, copied.reason, str(copied)) == (error.key, error.reason, str(error))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999", "http://[::1", "http://127.0.0.1:0", "http://h:port", "ftp://h"],
)
def test_a_base_url_needs_a_valid_host_and_port(url: str) -> None:
    assert not fields.is_base_url(url)


def test_good_base_urls_pass() -> None:
    assert fields.is_base_url("http://127.0.0.1:3000")
    assert fields.is_base_url("https://[::1]:443/")
