"""How a benchmark's process ends: SIGTERM unwinds it as Ctrl-C does (the servers it started
stop and its temporary directories go), and Ctrl-C or a failed run end in one line on stderr
and an exit status, not a traceback."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType

INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT), as a shell gives it."""


def guarded(run: Callable[[], int], *failures: type[Exception]) -> int:
    """``run()``'s exit status, with SIGTERM raising ``SystemExit(143)`` meanwhile (which
    unwinds every ``with`` on the way out). Ctrl-C gives `INTERRUPTED`, a failure of a kind in
    ``failures`` status 1, each with one line on stderr."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted: the servers it started are stopped", file=sys.stderr)
        return INTERRUPTED
    except failures as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except BaseExceptionGroup as group:  # a task group's calls that failed together
        matched, rest = group.split(failures)
        if matched is None or rest is not None:
            raise
        first, count = _first_leaf(matched), _leaves(matched)
        more = f" (and {count - 1} more)" if count > 1 else ""
        print(f"{type(first).__name__}: {first}{more}", file=sys.stderr)
        return 1


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error = group.exceptions[0]
    return _first_leaf(error) if isinstance(error, BaseExceptionGroup) else error


def _leaves(group: BaseExceptionGroup[BaseException]) -> int:
    return sum(
        _leaves(error) if isinstance(error, BaseExceptionGroup) else 1 for error in group.exceptions
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
