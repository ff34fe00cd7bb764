from __future__ import annotations

import itertools

import pytest

from nerv_inner_universe.client import ReconnectPolicy


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=5.0, multiplier=2.0, jitter=0.0)
    assert list(itertools.islice(policy.delays(), 5)) == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_only_shortens() -> None:
    policy = ReconnectPolicy(initial_delay=1.0, max_delay=1.0, jitter=0.5)
    for delay in itertools.islice(policy.delays(), 100):
        assert 0.5 <= delay <= 1.0


def test_attempts_can_be_bounded() -> None:
    assert len(list(ReconnectPolicy(max_attempts=3).delays())) == 3


def test_policy_values_are_validated() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        ReconnectPolicy(initial_delay=0)
    with pytest.raises(ValueError, match="jitter"):
        ReconnectPolicy(jitter=1.0)
