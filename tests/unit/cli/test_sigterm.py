"""SIGTERM to a CLI command (`kill`, `timeout`, a closed terminal) is handled as Ctrl-C: the
work is cancelled, so what it started is stopped, and the command exits 130."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from nerv_inner_universe.cli.common import EXIT_INTERRUPTED, run


def test_sigterm_cancels_the_work_and_exits_as_ctrl_c(capsys: pytest.CaptureFixture[str]) -> None:
    cleaned_up: list[bool] = []
    before = signal.getsignal(signal.SIGTERM)

    async def work() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.Event().wait()  # until cancelled
        finally:
            cleaned_up.append(True)

    with pytest.raises(SystemExit) as exited:
        run(work())
    assert exited.value.code == EXIT_INTERRUPTED
    assert cleaned_up == [True]
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before
