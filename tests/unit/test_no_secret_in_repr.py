"""No ``repr()`` or ``str()`` of a settings, config or credentials object shows a token."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import attrs
import pytest

import nerv_inner_universe
from nerv_inner_universe.client import ConnectionId, Identity
from nerv_inner_universe.client.http import Credentials
from nerv_inner_universe.client.protocol import IdentityToken
from nerv_inner_universe.controller import InnerUniverseConfig
from nerv_inner_universe.nerv.settings import NervSettings
from nerv_inner_universe.plugin import PluginSettings

SECRET = "eyJhbGciOiJFUzI1NiJ9.secret-token-value.signature"
_SECRET_NAME = re.compile(r"token|secret|password|private_key", re.IGNORECASE)
_NOT_SECRETS = {"token_file", "token_store"}
"""Fields that name where a secret is, not the secret."""


def _attrs_classes() -> list[type]:
    found = []
    for module_info in pkgutil.walk_packages(
        nerv_inner_universe.__path__, nerv_inner_universe.__name__ + "."
    ):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and attrs.has(cls):
                found.append(cls)
    return found


def test_the_walk_finds_the_settings_classes() -> None:
    classes = _attrs_classes()
    for expected in (PluginSettings, InnerUniverseConfig, NervSettings, Credentials):
        assert expected in classes


@pytest.mark.parametrize("cls", _attrs_classes(), ids=lambda cls: cls.__qualname__)
def test_every_field_that_holds_a_secret_is_left_out_of_repr(cls: type) -> None:
    for field in attrs.fields(cls):
        if field.type in (bool, "bool"):  # a flag that says whether something is secret
            continue
        if _SECRET_NAME.search(field.name) and field.name not in _NOT_SECRETS:
            assert field.repr is False, f"{cls.__qualname__}.{field.name} shows in repr()"


def test_plugin_settings_never_show_the_token() -> None:
    settings = PluginSettings(token=SECRET)
    assert settings.token == SECRET
    for text in (repr(settings), str(settings)):
        assert SECRET not in text
        assert "inner-universe" in text  # the rest is still shown


def test_credentials_and_identity_tokens_never_show_the_token() -> None:
    identity = Identity(7)
    for value in (
        Credentials(identity, SECRET),
        IdentityToken(identity, SECRET, ConnectionId(1)),
    ):
        assert SECRET not in repr(value)
        assert SECRET not in str(value)
        assert identity.hex in repr(value)
