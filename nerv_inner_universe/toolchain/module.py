"""Builds the Inner Universe module to wasm, once per version of its sources."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import commands, paths
from nerv_inner_universe.toolchain.errors import MissingPrerequisiteError, ToolchainError
from nerv_inner_universe.toolchain.progress import CargoProgress, Reporter
from nerv_inner_universe.toolchain.wasm import TARGET, WasmToolchain

log = get_logger(__name__)

WASM_NAME = "inner_universe_module.wasm"
_SOURCE_SUFFIXES = {".rs", ".toml", ".lock"}


def source_files(source: Path) -> list[Path]:
    """The files whose content defines the module build (not `target/`)."""
    return sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and p.suffix in _SOURCE_SUFFIXES
        and "target" not in p.relative_to(source).parts
    )


def source_hash(source: Path) -> str:
    """sha256 over relative paths and contents: changes when any module source changes."""
    digest = hashlib.sha256()
    for path in source_files(source):
        digest.update(path.relative_to(source).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def built_module(source: Path | None = None) -> Path | None:
    """The wasm built from the current sources, if there is one."""
    source = source or paths.module_source_dir()
    wasm = paths.module_artifacts_dir() / source_hash(source)[:16] / WASM_NAME
    return wasm if wasm.is_file() else None


def build_module(toolchain: WasmToolchain, reporter: Reporter, source: Path | None = None) -> Path:
    """Builds (or reuses) the module for the current sources and returns the wasm path."""
    source = source or paths.module_source_dir()
    if not (source / "Cargo.toml").is_file():
        raise MissingPrerequisiteError(
            f"the module sources are not at {source}; set NERV_INNER_UNIVERSE_MODULE_SRC to the "
            "spacetime/ folder of a nerv-inner-universe checkout"
        )
    existing = built_module(source)
    if existing is not None:
        return existing
    digest = source_hash(source)
    while True:  # an edit made while cargo ran must not be filed under the older sources' hash
        built = _cargo_build(toolchain, reporter, source)
        digest, before = source_hash(source), digest
        if digest == before:
            break
        log.info("module_sources_changed_during_build", source=str(source))
    destination = paths.module_artifacts_dir() / digest[:16] / WASM_NAME
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(f".{os.getpid()}.partial")
    shutil.copy2(built, partial)
    partial.replace(destination)  # atomic: a concurrent reader sees no half-copied wasm
    return destination


def _cargo_build(toolchain: WasmToolchain, reporter: Reporter, source: Path) -> Path:
    """Runs cargo for the module in `source` and returns the wasm it wrote."""
    target_dir = paths.module_target_dir(source)
    env = {**os.environ, **toolchain.env, "CARGO_TARGET_DIR": str(target_dir)}
    argv = [
        toolchain.cargo,
        "build",
        "--locked",
        "--release",
        "-p",
        "inner-universe-module",
        "--target",
        TARGET,
    ]
    log.info("module_build_start", source=str(source), toolchain=toolchain.origin)
    commands.run(argv, env=env, cwd=source, on_line=CargoProgress("module", reporter))
    built = target_dir / TARGET / "release" / WASM_NAME
    if not built.is_file():
        raise ToolchainError(f"cargo reported success but {built} does not exist")
    return built
