"""``[nerv] timeline`` and ``stream`` are checked when the plugin makes its recorder, before it
connects: a name the module cannot store is a `ConfigError` naming the key and the allowed form,
never a failure at the first write with the plugin's internal names in it."""

from __future__ import annotations

import pytest

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.contract import name_problem
from nerv_inner_universe.nerv import Nerv
from nerv_inner_universe.plugin.streams import (
    MAX_STREAM,
    anchor_version,
    delta_id,
    stream_name_problem,
)

UNREACHABLE = {"url": "http://127.0.0.1:9", "database": "db", "token": "t"}
"""Nothing listens there: a test that got as far as connecting would fail differently."""


def config(**nerv: str) -> dict[str, object]:
    return {"nerv": {"plugins": ["inner_universe"], **nerv, "inner_universe": UNREACHABLE}}


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("stream", "bad stream", "[A-Za-z0-9._:-]"),
        ("stream", "", "non-empty"),  # the settings refuse it already
        ("stream", "a/b", "[A-Za-z0-9._:-]"),
        ("stream", "s" * (MAX_STREAM + 1), f"1-{MAX_STREAM} characters"),
        ("stream", "é", "[A-Za-z0-9._:-]"),
        ("timeline", "has space", "[A-Za-z0-9._:/-]"),
        ("timeline", "", "non-empty"),
        ("timeline", "t" * 129, "1-128 characters"),
        ("timeline", "tab\t", "[A-Za-z0-9._:/-]"),
    ],
)
def test_a_bad_name_is_a_config_error_at_start(key: str, value: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Nerv(config(**{key: value})).start()
    assert caught.value.key == f"nerv.{key}"
    assert allowed in caught.value.reason
    assert "stream." not in str(caught.value).replace(f"nerv.{key}", "")  # no internal names


def test_the_longest_names_allowed_fit_the_modules_ids() -> None:
    longest = "s" * MAX_STREAM
    assert stream_name_problem(longest) is None
    assert len(delta_id(longest, 2**63 - 1, "w" * 12)) == 128
    assert len(anchor_version(longest)) <= 128
    assert name_problem("t" * 128) is None
    assert name_problem("team/a:main-2.x_y") is None
    assert stream_name_problem("team.a:main-2_x") is None
