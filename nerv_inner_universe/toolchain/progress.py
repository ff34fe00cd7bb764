"""How long-running setup work reports progress, so the CLI can show it and tests can read it."""

from __future__ import annotations

import re
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

_COMPILING = re.compile(r"^\s*Compiling (\S+) ")


class Reporter(Protocol):
    """Receives progress of setup steps; the CLI draws it, the default logs it."""

    def update(self, step: str, detail: str) -> None: ...


class LogReporter:
    """Logs every tenth compiled crate: enough to see a long build move, not a flood."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def update(self, step: str, detail: str) -> None:
        count = self._seen.get(step, 0) + 1
        self._seen[step] = count
        if count % 10 == 1:
            log.info("setup_progress", step=step, lines=count, detail=detail)


class CargoProgress:
    """Turns cargo's output lines into "N crates compiled, last: X" updates."""

    def __init__(self, step: str, reporter: Reporter) -> None:
        self.step = step
        self.reporter = reporter
        self.compiled = 0

    def __call__(self, line: str) -> None:
        match = _COMPILING.match(line)
        if match:
            self.compiled += 1
            self.reporter.update(self.step, f"{self.compiled} crates compiled, last {match[1]}")
