"""How long to wait between reconnection attempts after the connection drops."""

from __future__ import annotations

import random
from collections.abc import Iterator

import attrs

_jitter = random.SystemRandom()


@attrs.frozen
class ReconnectPolicy:
    """Exponential backoff with jitter; ``enabled=False`` leaves a dropped connection closed."""

    enabled: bool = True
    initial_delay: float = attrs.field(default=0.25, validator=attrs.validators.gt(0))
    max_delay: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)]
    )
    """Each delay is randomly shortened by up to this fraction, so clients do not all return
    at the same instant."""
    max_attempts: int | None = None
    """None retries until ``disconnect()``."""

    def delays(self) -> Iterator[float]:
        """The waits before each reconnect attempt, in seconds (endless when ``max_attempts`` is
        None)."""
        delay = self.initial_delay
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            attempt += 1
            yield delay * (1 - _jitter.uniform(0, self.jitter))
            delay = min(delay * self.multiplier, self.max_delay)
