"""Where setup keeps what it builds: a cache outside any checkout, so fresh clones reuse it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SERVER_VERSION = "1.2.0"
SERVER_BINARY = "spacetimedb-standalone"


def cache_root() -> Path:
    """``$NERV_INNER_UNIVERSE_CACHE``, else ``$XDG_CACHE_HOME/nerv-inner-universe``."""
    explicit = os.environ.get("NERV_INNER_UNIVERSE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "nerv-inner-universe"


def server_root() -> Path:
    """The ``cargo install --root`` of the server; its target dir sits beside it so an
    interrupted build resumes."""
    return cache_root() / "server" / SERVER_VERSION


def server_target_dir() -> Path:
    return cache_root() / "server" / "target"


def cached_server_binary() -> Path:
    return server_root() / "bin" / SERVER_BINARY


def module_source_dir() -> Path:
    """The ``spacetime/`` workspace: ``$NERV_INNER_UNIVERSE_MODULE_SRC`` or the checkout's."""
    explicit = os.environ.get("NERV_INNER_UNIVERSE_MODULE_SRC")
    if explicit:
        return Path(explicit).expanduser()
    return Path(__file__).resolve().parents[2] / "spacetime"


def checkout_key(source: Path) -> str:
    """16 hex digits naming the checkout whose module sources are at ``source``."""
    return hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]


def module_target_dir(source: Path) -> Path:
    """Cargo's target dir for the module sources at ``source``, one per checkout: cargo keys
    path crates by their path relative to the workspace and trusts file times, so two
    checkouts sharing a target dir could each be handed the other's build."""
    return cache_root() / "module" / "target" / checkout_key(source)


def module_artifacts_dir() -> Path:
    """Built modules, one folder per source hash."""
    return cache_root() / "module" / "builds"


def wasm_std_dir() -> Path:
    """Scratch space for building the wasm32 std from Debian's sources."""
    return cache_root() / "wasm-std"
