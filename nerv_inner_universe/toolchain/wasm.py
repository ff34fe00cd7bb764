"""A Rust toolchain that can build for wasm32-unknown-unknown.

rustup's target when it is installed; otherwise Debian's `rustc-web` with a std built once
from `rust-web-src` into Debian's sysroot (rustup cannot download targets on offline machines).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import attrs

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import apt, commands, paths
from nerv_inner_universe.toolchain.errors import MissingPrerequisiteError, ToolchainError
from nerv_inner_universe.toolchain.progress import CargoProgress, Reporter

log = get_logger(__name__)

TARGET = "wasm32-unknown-unknown"
DEBIAN_PACKAGES = ("rustc-web", "cargo-web", "libstd-rust-web-dev", "rust-web-src")
DEBIAN_RUSTC = Path("/usr/bin/rustc")
DEBIAN_CARGO = Path("/usr/bin/cargo")
STD_MARKER = ".nerv-inner-universe-std"


@attrs.frozen
class WasmToolchain:
    """How to invoke cargo so that it builds for wasm32."""

    cargo: str
    env: dict[str, str]
    origin: str  # "rustup" or "debian"


def rustup_toolchain() -> WasmToolchain | None:
    installed = commands.output(["rustup", "target", "list", "--installed"])
    cargo = shutil.which("cargo")
    if installed is None or cargo is None or TARGET not in installed.split():
        return None
    return WasmToolchain(cargo=cargo, env={}, origin="rustup")


def _debian_env() -> dict[str, str]:
    return {"RUSTC": str(DEBIAN_RUSTC), "RUSTDOC": "/usr/bin/rustdoc"}


def _rustc_version() -> str:
    text = commands.output([str(DEBIAN_RUSTC), "-vV"])
    if text is None:
        raise ToolchainError(f"{DEBIAN_RUSTC} -vV failed after installing {DEBIAN_PACKAGES}")
    return text


def _llvm_major(rustc_version: str) -> str:
    match = re.search(r"^LLVM version: (\d+)", rustc_version, re.MULTILINE)
    if match is None:
        raise ToolchainError(f"cannot read the LLVM version from `rustc -vV`:\n{rustc_version}")
    return match[1]


def _sysroot() -> Path:
    text = commands.output([str(DEBIAN_RUSTC), "--print", "sysroot"])
    if text is None:
        raise ToolchainError(f"{DEBIAN_RUSTC} --print sysroot failed")
    return Path(text.strip())


def _link_rust_lld(sysroot: Path, llvm_major: str) -> bool:
    """The wasm32 target links with `rust-lld`, which rustc looks for in its sysroot."""
    link = sysroot / "lib" / "rustlib" / "x86_64-unknown-linux-gnu" / "bin" / "rust-lld"
    lld = Path(f"/usr/bin/lld-{llvm_major}")
    if link.exists():  # follows the link: a dangling one counts as missing
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(lld)
    return True


def _build_std(sysroot: Path, rustc_version: str, reporter: Reporter) -> None:
    """Builds std + panic_abort for wasm32 in a throwaway crate and installs the rlibs."""
    work = paths.wasm_std_dir()
    probe = work / "probe"
    (probe / "src").mkdir(parents=True, exist_ok=True)
    (probe / "Cargo.toml").write_text(
        '[package]\nname = "wasm-std-probe"\nversion = "0.0.0"\nedition = "2021"\n\n'
        '[lib]\ncrate-type = ["rlib"]\n\n'
        '[profile.release]\npanic = "abort"\ncodegen-units = 1\n'
    )
    (probe / "src" / "lib.rs").write_text("#![no_std]\n")
    library = sysroot / "lib" / "rustlib" / "src" / "rust" / "library"
    target_dir = work / "target"
    env = {
        **os.environ,
        **_debian_env(),
        "CARGO_HOME": str(work / "cargo-home"),
        "CARGO_TARGET_DIR": str(target_dir),
        "RUSTC_BOOTSTRAP": "1",
        "RUSTFLAGS": "-Cembed-bitcode=yes",
    }
    commands.run(
        [
            str(DEBIAN_CARGO),
            "build",
            "-Z",
            "build-std=std,panic_abort",
            "--release",
            "--target",
            TARGET,
            "--config",
            'source.crates-io.replace-with="rust-std-vendor"',
            "--config",
            f'source.rust-std-vendor.directory="{library / "vendor"}"',
        ],
        env=env,
        cwd=probe,
        on_line=CargoProgress("wasm-std", reporter),
    )
    destination = sysroot / "lib" / "rustlib" / TARGET / "lib"
    destination.mkdir(parents=True, exist_ok=True)
    for stale in destination.glob("lib*.rlib"):
        stale.unlink()
    built = target_dir / TARGET / "release" / "deps"
    for rlib in built.glob("lib*.rlib"):
        if not rlib.name.startswith("libwasm_std_probe"):
            shutil.copy2(rlib, destination / rlib.name)
    (destination / STD_MARKER).write_text(rustc_version)


def debian_toolchain(reporter: Reporter) -> tuple[WasmToolchain, list[str]]:
    """Ensures the Debian recipe is in place; returns the toolchain and what it changed."""
    changed = [f"apt: {p}" for p in apt.ensure(DEBIAN_PACKAGES, "the wasm32 target", reporter)]
    rustc_version = _rustc_version()
    llvm_major = _llvm_major(rustc_version)
    changed += [f"apt: {p}" for p in apt.ensure([f"lld-{llvm_major}"], "linking wasm", reporter)]
    sysroot = _sysroot()
    if not os.access(sysroot / "lib" / "rustlib", os.W_OK):
        raise MissingPrerequisiteError(
            f"building the wasm32 std writes into {sysroot}/lib/rustlib; run setup as root once"
        )
    if _link_rust_lld(sysroot, llvm_major):
        changed.append(f"linked rust-lld -> lld-{llvm_major}")
    marker = sysroot / "lib" / "rustlib" / TARGET / "lib" / STD_MARKER
    if not marker.is_file() or marker.read_text() != rustc_version:
        log.info("wasm_std_build_start", rustc=rustc_version.splitlines()[0])
        _build_std(sysroot, rustc_version, reporter)
        changed.append("built the wasm32 std")
    return WasmToolchain(cargo=str(DEBIAN_CARGO), env=_debian_env(), origin="debian"), changed


def ensure_wasm_toolchain(reporter: Reporter) -> tuple[WasmToolchain, list[str]]:
    """rustup's wasm32 target if installed, else the Debian recipe."""
    toolchain = rustup_toolchain()
    if toolchain is not None:
        return toolchain, []
    if shutil.which("apt-get") is None and not DEBIAN_RUSTC.is_file():
        raise MissingPrerequisiteError(
            f"no Rust toolchain here can build for {TARGET}: run "
            f"`rustup target add {TARGET}` (needs network), or on Debian install "
            f"{' '.join(DEBIAN_PACKAGES)}"
        )
    return debian_toolchain(reporter)
