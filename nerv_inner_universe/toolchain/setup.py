"""`inner-universe setup`: makes this machine ready, step by step, and says what it did."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import server
from nerv_inner_universe.toolchain.module import build_module, built_module
from nerv_inner_universe.toolchain.progress import LogReporter, Reporter
from nerv_inner_universe.toolchain.wasm import WasmToolchain, ensure_wasm_toolchain

log = get_logger(__name__)

T = TypeVar("T")


@attrs.frozen
class StepResult:
    name: str
    seconds: float
    changed: list[str]
    detail: str


@attrs.frozen
class SetupResult:
    """What setup found or made: the server binary, the module wasm, and each step."""

    server_binary: Path
    module_wasm: Path
    steps: list[StepResult]

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)


def _timed(name: str, work: Callable[[], tuple[T, list[str], str]], steps: list[StepResult]) -> T:
    started = time.monotonic()
    value, changed, detail = work()
    seconds = time.monotonic() - started
    steps.append(StepResult(name, seconds, changed, detail))
    log.info("setup_step", step=name, seconds=round(seconds, 2), changed=changed, detail=detail)
    return value


def setup(reporter: Reporter | None = None, *, module_source: Path | None = None) -> SetupResult:
    """Ensures the server 1.2.0, a wasm32 toolchain and the module build, in that order.

    On a ready machine every step only checks, so a second run takes seconds.
    """
    reporter = reporter or LogReporter()
    steps: list[StepResult] = []

    def server_step() -> tuple[Path, list[str], str]:
        found = server.find_server()
        if found is not None:
            return found, [], f"found {found}"
        built = server.build_server(reporter)
        return built, [f"built {built}"], f"built {built}"

    def wasm_step() -> tuple[WasmToolchain, list[str], str]:
        toolchain, changed = ensure_wasm_toolchain(reporter)
        return toolchain, changed, f"{toolchain.origin} toolchain"

    def module_step(toolchain: WasmToolchain) -> tuple[Path, list[str], str]:
        existing = built_module(module_source)
        if existing is not None:
            return existing, [], f"up to date: {existing}"
        wasm = build_module(toolchain, reporter, module_source)
        return wasm, [f"built {wasm}"], f"built {wasm} ({wasm.stat().st_size} bytes)"

    server_binary = _timed("server", server_step, steps)
    toolchain = _timed("wasm toolchain", wasm_step, steps)
    wasm = _timed("module", lambda: module_step(toolchain), steps)
    return SetupResult(server_binary=server_binary, module_wasm=wasm, steps=steps)
