"""`cli.common.run`: what the server answered, or sent as data, that a command cannot use ends
the command with a message and exit code 1, never with a traceback."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from nerv_inner_universe.cli.common import EXIT_ERROR, run
from nerv_inner_universe.client import HttpError, Timestamp


async def convert() -> object:
    return Timestamp(2**63 - 1).to_datetime()


async def refuse() -> object:
    raise HttpError("POST", "/v1/database/x/call/y", 500, "boom")


@pytest.mark.parametrize(
    ("work", "says"),
    [
        (convert, "(ArgumentError): Timestamp"),
        (refuse, "(HttpError): POST /v1/database/x/call/y answered 500: boom"),
    ],
)
def test_a_client_error_is_a_message_and_exit_1(
    work: Callable[[], Coroutine[Any, Any, object]], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(work())
    assert exited.value.code == EXIT_ERROR
    printed = " ".join(capsys.readouterr().err.split())
    assert "the server's answer could not be used" in printed
    assert says in printed
    assert "Traceback" not in printed
