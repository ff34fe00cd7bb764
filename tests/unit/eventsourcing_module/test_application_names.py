"""An application whose name makes a store name the module refuses is told so when its
factory is made, before anything connects, not by every save."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import Environment

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.eventsourcing_module import InnerUniverseFactory

UNREACHABLE = {"SPACETIMEDB_URL": "http://127.0.0.1:9", "SPACETIMEDB_DATABASE": "db"}
"""Nothing listens there: a factory that got as far as connecting would fail differently."""


@pytest.mark.parametrize("name", ["Écoles", "Dog School", "x" * 120, "x" * 130])
def test_a_name_that_makes_a_refused_store_name_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="makes the store name") as refused:
        InnerUniverseFactory(Environment(name, UNREACHABLE))
    assert refused.value.key == "application name"
    assert "[A-Za-z0-9._:/-]" in refused.value.reason


def test_the_longest_name_every_store_takes_is_accepted_up_to_connecting() -> None:
    """``<name>_snapshots`` is the longest store name: 118 characters leave it 128."""
    with pytest.raises(OperationalError):  # the name passed; nothing listens there
        InnerUniverseFactory(Environment("x" * 118, UNREACHABLE))
