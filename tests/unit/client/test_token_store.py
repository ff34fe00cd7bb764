from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nerv_inner_universe.client import TokenStore, TokenStoreError, default_token_dir
from nerv_inner_universe.client.errors import ArgumentError
from nerv_inner_universe.client.token_store import bearer_header


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tokens_round_trip_per_server_and_database(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens")
    assert store.load("http://127.0.0.1:3000", "db") is None
    path = store.save("http://127.0.0.1:3000/", "db", "secret")
    store.save("http://127.0.0.1:3000", "other", "other-secret")
    assert store.load("HTTP://127.0.0.1:3000", "db") == "secret"
    assert store.load("http://127.0.0.1:3001", "db") is None
    assert mode(path) == 0o600
    assert mode(tmp_path / "tokens") == 0o700
    store.save("http://127.0.0.1:3000", "db", "rotated")
    assert store.load("http://127.0.0.1:3000", "db") == "rotated"
    assert store.delete("http://127.0.0.1:3000", "db")
    assert not store.delete("http://127.0.0.1:3000", "db")
    assert store.load("http://127.0.0.1:3000", "db") is None


def test_an_existing_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    TokenStore(directory).save("s", "d", "t")
    assert mode(directory) == 0o700


def test_files_others_can_read_are_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    path = store.save("s", "d", "t")
    path.chmod(0o644)
    with pytest.raises(TokenStoreError, match="accessible by other users"):
        store.load("s", "d")


def test_corrupt_files_are_reported(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    path = store.save("s", "d", "t")
    path.write_text("{not json")
    with pytest.raises(TokenStoreError, match="corrupt"):
        store.load("s", "d")
    path.write_text('{"token": 5}')
    with pytest.raises(TokenStoreError, match="holds no token"):
        store.load("s", "d")


def test_unwritable_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TokenStoreError, match="cannot prepare token directory"):
        TokenStore(blocker / "tokens").save("s", "d", "t")


def test_default_directory_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_token_dir() == tmp_path / "nerv-inner-universe" / "tokens"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_token_dir() == tmp_path / "home" / ".config" / "nerv-inner-universe" / "tokens"
    assert TokenStore().directory == default_token_dir()


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("s", "d", "t")
    assert [p.name.endswith(".json") for p in tmp_path.iterdir()] == [True]
    assert os.listdir(tmp_path) == [store.path("s", "d").name]


@pytest.mark.parametrize(
    "token",
    ['{\n  "token": "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.c2ln"\n}', "eyJ abc", "", "eyJ\u00e9"],
)
def test_a_value_that_cannot_be_a_token_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(ArgumentError, match="the token from test is not a token") as caught:
        bearer_header(token, "test")
    if token:
        assert token not in str(caught.value)
        assert "c2VjcmV0" not in str(caught.value)


def test_a_token_makes_a_bearer_header() -> None:
    assert bearer_header("eyJ.a-b_c.d", "test") == {"Authorization": "Bearer eyJ.a-b_c.d"}
