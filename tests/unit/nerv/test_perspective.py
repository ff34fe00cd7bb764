"""PerspectiveAware: named views over one piece of data."""

from __future__ import annotations

import pytest

from nerv_inner_universe.nerv import PerspectiveAware, UnknownNameError


def test_views_transform_the_current_data() -> None:
    aware = PerspectiveAware({"name": "Ada", "age": 36})
    aware.add_perspective("public", lambda data: {"name": data["name"]})
    aware.add_perspective("age", lambda data: data["age"])
    assert aware.view() == {"name": "Ada", "age": 36}
    assert aware.view("public") == {"name": "Ada"}
    aware.update_data({"name": "Grace", "age": 85})
    assert aware.view("age") == 85
    assert aware.get_available_perspectives() == ["public", "age"]


def test_a_perspective_can_be_replaced() -> None:
    aware = PerspectiveAware(2)
    aware.add_perspective("scaled", lambda n: n * 10)
    aware.add_perspective("scaled", lambda n: n * 100)
    assert aware.view("scaled") == 200
    assert aware.get_available_perspectives() == ["scaled"]


def test_an_unknown_perspective_is_an_error_naming_the_known_ones() -> None:
    aware = PerspectiveAware("data")
    aware.add_perspective("upper", str.upper)
    with pytest.raises(UnknownNameError, match=r"'lower'.*upper"):
        aware.view("lower")
