"""Running build commands with their output streamed to a progress callback."""

from __future__ import annotations

import collections
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain.errors import CommandFailedError

log = get_logger(__name__)

LineCallback = Callable[[str], None]


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_line: LineCallback | None = None,
) -> list[str]:
    """Runs ``argv``, feeding each output line (stdout and stderr merged) to ``on_line``;
    returns all lines, or raises `CommandFailedError` with the last 40."""
    log.debug("command_start", argv=list(argv), cwd=str(cwd) if cwd else None)
    lines: list[str] = []
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None  # guaranteed by stdout=PIPE
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            tail.append(line)
            if on_line is not None:
                on_line(line)
        returncode = proc.wait()
    if returncode != 0:
        raise CommandFailedError(list(argv), returncode, list(tail))
    return lines


def output(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> str | None:
    """The stdout of a quick query command, or None if it cannot run or fails."""
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
