"""Setup names exactly what is missing when it cannot install it (no server needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nerv_inner_universe.toolchain import (
    CommandFailedError,
    MissingPrerequisiteError,
    apt,
    commands,
    module,
    paths,
    server,
    wasm,
)
from nerv_inner_universe.toolchain.progress import LogReporter


def no_such_command(name: str) -> None:
    return None


def test_missing_packages_without_apt_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt, "missing", list)
    monkeypatch.setattr("shutil.which", no_such_command)
    with pytest.raises(MissingPrerequisiteError, match="needs the Debian packages perl, git"):
        apt.ensure(["perl", "git"], "building the server", LogReporter())


def test_missing_packages_without_root_give_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt, "missing", list)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(MissingPrerequisiteError, match="run: sudo apt-get install lld-22"):
        apt.ensure(["lld-22"], "linking wasm", LogReporter())


def test_nothing_to_install_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apt, "missing", lambda packages: [])
    assert apt.ensure(["perl"], "x", LogReporter()) == []


def test_missing_cargo_points_to_rustup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("shutil.which", no_such_command)
    monkeypatch.setattr("pathlib.Path.home", lambda: tmp_path)
    with pytest.raises(MissingPrerequisiteError, match="install Rust with rustup"):
        server.cargo()


def test_no_wasm_toolchain_and_no_apt_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wasm, "rustup_toolchain", lambda: None)
    monkeypatch.setattr("shutil.which", no_such_command)
    monkeypatch.setattr(wasm, "DEBIAN_RUSTC", Path("/nonexistent/rustc"))
    with pytest.raises(MissingPrerequisiteError, match="rustup target add wasm32-unknown-unknown"):
        wasm.ensure_wasm_toolchain(LogReporter())


def test_missing_module_sources_name_the_variable(tmp_path: Path) -> None:
    toolchain = wasm.WasmToolchain(cargo="cargo", env={}, origin="rustup")
    with pytest.raises(MissingPrerequisiteError, match="NERV_INNER_UNIVERSE_MODULE_SRC"):
        module.build_module(toolchain, LogReporter(), source=tmp_path)


def test_source_hash_follows_sources_not_build_output(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    (tmp_path / "src" / "lib.rs").write_text("fn a() {}\n")
    first = module.source_hash(tmp_path)
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "out.rs").write_text("generated")
    (tmp_path / "notes.md").write_text("not a source")
    assert module.source_hash(tmp_path) == first
    (tmp_path / "src" / "lib.rs").write_text("fn b() {}\n")
    assert module.source_hash(tmp_path) != first


def test_failed_commands_carry_their_last_lines() -> None:
    script = "import sys; print('one'); print('two'); sys.exit(3)"
    with pytest.raises(CommandFailedError) as failure:
        commands.run([sys.executable, "-c", script])
    assert failure.value.returncode == 3
    assert failure.value.tail == ["one", "two"]
    assert "exited with 3" in str(failure.value)


def test_llvm_major_is_read_from_rustc() -> None:
    assert wasm._llvm_major("rustc 1.96.0\nLLVM version: 22.1.8\n") == "22"


def test_an_edit_during_the_build_is_built_before_the_wasm_is_filed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "spacetime"
    (source / "src").mkdir(parents=True)
    (source / "Cargo.toml").write_text("[package]\n")
    (source / "src" / "lib.rs").write_text("fn a() {}\n")
    monkeypatch.setattr(paths, "module_artifacts_dir", lambda: tmp_path / "artifacts")
    builds: list[str] = []

    def cargo_build(_toolchain: object, _reporter: object, built_from: Path) -> Path:
        builds.append(module.source_hash(built_from))
        if len(builds) == 1:  # the user saves a file while cargo runs
            (built_from / "src" / "lib.rs").write_text("fn b() {}\n")
        wasm_file = tmp_path / f"build{len(builds)}.wasm"
        wasm_file.write_bytes(b"wasm %d" % len(builds))
        return wasm_file

    monkeypatch.setattr(module, "_cargo_build", cargo_build)
    toolchain = wasm.WasmToolchain(cargo="cargo", env={}, origin="rustup")
    filed = module.build_module(toolchain, LogReporter(), source=source)
    final = module.source_hash(source)
    assert builds[1] == final != builds[0]
    assert filed == tmp_path / "artifacts" / final[:16] / module.WASM_NAME
    assert filed.read_bytes() == b"wasm 2"
    assert module.built_module(source) == filed
    assert not list((tmp_path / "artifacts").glob("*/*.partial"))
