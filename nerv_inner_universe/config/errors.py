"""The one error of configuration, shared by every table (``[nerv]``, ``[nerv.inner_universe]``,
``[inner_universe]``) so that callers catch one class whichever layer read the setting."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration file, table, key or value is invalid.

    ``key`` names where: a setting (``port``), a key in a file
    (``inner_universe.port in /etc/atlas.toml``), an environment variable
    (``INNER_UNIVERSE_PORT``) or a file; ``reason`` says what is wrong and what is expected.
    ``str(error)`` is ``"<key>: <reason>"``.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key, reason)
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"
