"""What every server command shares: loading the config, running a coroutine, failing clearly.

Exit codes: 0 done, 1 an operational error (the message says what to do), 2 a bad config or
usage, 3 nothing is running (`status`), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from nerv_inner_universe.client import SpacetimeError
from nerv_inner_universe.contract import ReducerRefusedError
from nerv_inner_universe.controller import ConfigError, ControllerError, load_config
from nerv_inner_universe.controller.config import CONFIG_ENV, DEFAULT_SECTION, SECTION_ENV

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_NOT_RUNNING = 3
EXIT_INTERRUPTED = 130

out = Console(soft_wrap=True)
"""Results (tables, rows): stdout, so they can be piped."""
err = Console(stderr=True, soft_wrap=True)
"""Progress, notes and errors: stderr."""


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, markup=True)
    sys.exit(code)


def with_config(command: Callable[..., T]) -> Callable[..., T]:
    """Adds ``--config`` and ``--section`` and passes the loaded config as the first argument."""

    @click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=CONFIG_ENV,
        help=f"TOML file holding the settings (or ${CONFIG_ENV}); defaults apply without one.",
    )
    @click.option(
        "--section",
        default=DEFAULT_SECTION,
        show_default=True,
        envvar=SECTION_ENV,
        help="TOML table of the settings (dotted for a nested table).",
    )
    @functools.wraps(command)
    def wrapper(config_path: Path | None, section: str, **kwargs: Any) -> T:
        try:
            config = load_config(config_path, section=section)
        except ConfigError as error:
            fail(f"invalid configuration: {error}", EXIT_CONFIG)
        return command(config, **kwargs)

    return wrapper


def run(work: Coroutine[Any, Any, T]) -> T:
    """Runs ``work``; a ControllerError, the module's refusal (``<code>: <message>``), or a
    client error (the server's answer or its data could not be used) becomes its message and
    exit code 1, Ctrl-C or SIGTERM exit 130 (the controller has stopped what it started by
    then: SIGTERM is taken as Ctrl-C, which cancels ``work``)."""
    previous = signal.signal(signal.SIGTERM, _as_ctrl_c)
    try:
        return asyncio.run(work)
    except ConfigError as error:
        fail(f"invalid configuration: {error}", EXIT_CONFIG)
    except ControllerError as error:
        fail(str(error))
    except ReducerRefusedError as refused:
        fail(str(refused.refusal))
    except SpacetimeError as error:
        fail(f"the server's answer could not be used ({type(error).__name__}): {error}")
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _as_ctrl_c(_signum: int, _frame: object) -> None:
    """SIGTERM (`kill`, `timeout`, a closed terminal) handled as Ctrl-C is: ``work`` is
    cancelled and cleans up."""
    signal.raise_signal(signal.SIGINT)
