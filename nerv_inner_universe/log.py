"""The library's logging: quiet unless the application asks for more.

Every module logs through ``log = get_logger(__name__)``: structlog calls
(``log.info("module_published", database=name)``) carried by the standard `logging` module under
the logger ``nerv_inner_universe``. So, like any well-behaved library:

- with no logging set up, only warnings and errors appear, on stderr (Python's last-resort
  handler); nothing ever goes to stdout;
- an application that sets up `logging` (``logging.basicConfig(level=logging.INFO)``) gets the
  library's records through its own handlers, as ``event=module_published database=...`` text;
  each record also carries the structured entry as ``record.structlog`` (a dict);
- `configure` is the short way for an application (and the ``inner-universe`` command) to show
  them on stderr, as aligned text for people or JSON lines for machines.

The global structlog configuration is neither used nor changed, so an application's own
structlog setup is its own.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LIBRARY_LOGGER = "nerv_inner_universe"
"""The standard-library logger every module's logger descends from."""

RECORD_ATTRIBUTE = "structlog"
"""Each `logging.LogRecord` of the library holds its structured entry under this attribute."""

_LEVELS = ("debug", "info", "warning", "error")


_LOGFMT = structlog.processors.LogfmtRenderer(key_order=["event"], drop_missing=True)


def _plain(logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
    """``event=... key=value ...``, a traceback on the lines after it."""
    exception = event_dict.pop("exception", None)
    text = _LOGFMT(logger, method, event_dict)
    return f"{text}\n{exception}" if exception else text


class _Output:
    """How records are rendered into their message: `_plain` until `configure`."""

    renderer: Processor = _plain
    handler: logging.Handler | None = None


def _render(logger: WrappedLogger, method: str, event_dict: EventDict) -> Any:
    """The last processor: the message text, with the entry kept on the record. A traceback
    is already in the text (``exc_info=False`` stops `logging` from adding it again)."""
    entry = dict(event_dict)
    message = _Output.renderer(logger, method, event_dict)
    return (message,), {"extra": {RECORD_ATTRIBUTE: entry}, "exc_info": False}


_PROCESSORS: list[Processor] = [
    structlog.stdlib.filter_by_level,  # first, so a disabled level costs almost nothing
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
    _render,
]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """The structlog logger of module ``name`` (``__name__`` of a module of this package),
    backed by ``logging.getLogger(name)``; `logging` levels and handlers decide what is kept."""
    return cast(
        structlog.stdlib.BoundLogger,
        structlog.wrap_logger(
            logging.getLogger(name),
            processors=_PROCESSORS,
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        ),
    )


class _StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever ``sys.stderr`` is when a record comes, not when it was configured:
    an application (or a test runner) that swaps stderr, and closes the old one, never makes a
    background thread's record fail."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """`logging` sets it once; the current ``sys.stderr`` is used instead."""


def configure(level: str = "info", *, json: bool = False) -> None:
    """Show the library's log records of ``level`` and above on stderr.

    ``level`` is ``"debug"``, ``"info"``, ``"warning"`` or ``"error"`` (any case); ``json``
    writes one JSON object per line (keys ``event``, ``level``, ``timestamp`` and the event's
    own), otherwise aligned ``key=value`` text, coloured on a terminal. Calling it again
    replaces the previous setting. It sets the level of the ``nerv_inner_universe`` logger and
    gives it its own stderr handler (records are not passed on to the root logger's handlers,
    so nothing is printed twice). Raises ValueError for an unknown level.
    """
    if not isinstance(level, str) or level.lower() not in _LEVELS:
        raise ValueError(f"unknown log level {level!r}; use debug, info, warning or error")
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    final: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )

    def render(logger: WrappedLogger, method: str, event_dict: EventDict) -> Any:
        return final(logger, method, stamp(logger, method, event_dict))

    library = logging.getLogger(LIBRARY_LOGGER)
    if _Output.handler is not None:
        library.removeHandler(_Output.handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    library.addHandler(handler)
    library.setLevel(level.upper())
    library.propagate = False
    _Output.handler = handler
    _Output.renderer = render
