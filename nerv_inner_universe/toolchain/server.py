"""The `spacetimedb-standalone` 1.2.0 binary: found, or built from crates.io into the cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import apt, commands, paths
from nerv_inner_universe.toolchain.errors import MissingPrerequisiteError
from nerv_inner_universe.toolchain.progress import CargoProgress, Reporter

log = get_logger(__name__)

# A build script of spacetimedb-lib runs `git`; OpenSSL is built from vendored C sources.
BUILD_PACKAGES = ("build-essential", "perl", "git", "pkg-config")


def reports_expected_version(binary: Path) -> bool:
    """`--version` prints e.g. "spacetimedb tool version 1.2.0; spacetimedb-lib version 1.2.0;"."""
    text = commands.output([str(binary), "--version"])
    return text is not None and f"spacetimedb-lib version {paths.SERVER_VERSION};" in text


def find_server() -> Path | None:
    """A usable 1.2.0 binary: ``$SPACETIMEDB_STANDALONE``, then PATH, then the cache."""
    candidates: list[Path] = []
    explicit = os.environ.get("SPACETIMEDB_STANDALONE")
    if explicit:
        candidates.append(Path(explicit))
    on_path = shutil.which(paths.SERVER_BINARY)
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(paths.cached_server_binary())
    for candidate in candidates:
        if candidate.is_file() and reports_expected_version(candidate):
            return candidate
    return None


def cargo() -> str:
    """The cargo that builds host binaries (rustup's), not Debian's wasm toolchain."""
    home_cargo = Path.home() / ".cargo" / "bin" / "cargo"
    found = shutil.which("cargo") or (str(home_cargo) if home_cargo.is_file() else None)
    if found is None:
        raise MissingPrerequisiteError(
            "building spacetimedb-standalone needs Rust's cargo; install Rust with rustup "
            "(https://rustup.rs) or the Debian package cargo, then run setup again"
        )
    return found


def build_server(reporter: Reporter) -> Path:
    """`cargo install --locked spacetimedb-standalone@1.2.0` into the cache (tens of minutes
    on two cores; resumable because the target dir is kept)."""
    apt.ensure(BUILD_PACKAGES, "building spacetimedb-standalone", reporter)
    argv = [
        cargo(),
        "install",
        "--locked",
        "--root",
        str(paths.server_root()),
        f"{paths.SERVER_BINARY}@{paths.SERVER_VERSION}",
    ]
    env = {**os.environ, "CARGO_TARGET_DIR": str(paths.server_target_dir())}
    log.info("server_build_start", argv=argv)
    commands.run(argv, env=env, on_line=CargoProgress("server", reporter))
    binary = paths.cached_server_binary()
    if not reports_expected_version(binary):
        raise MissingPrerequisiteError(
            f"cargo install finished but {binary} does not report version {paths.SERVER_VERSION}"
        )
    return binary
