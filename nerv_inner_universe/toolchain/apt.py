"""Debian packages: installed when missing, if this machine has apt and we are root."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from nerv_inner_universe.log import get_logger
from nerv_inner_universe.toolchain import commands
from nerv_inner_universe.toolchain.errors import MissingPrerequisiteError
from nerv_inner_universe.toolchain.progress import Reporter

log = get_logger(__name__)


def missing(packages: Sequence[str]) -> list[str]:
    """The packages of ``packages`` that dpkg does not report as installed."""
    if shutil.which("dpkg-query") is None:
        return list(packages)
    return [
        name
        for name in packages
        if (commands.output(["dpkg-query", "-W", "-f=${Status}", name]) or "").strip()
        != "install ok installed"
    ]


def ensure(packages: Sequence[str], reason: str, reporter: Reporter) -> list[str]:
    """Installs what is missing of ``packages``; returns what it installed."""
    needed = missing(packages)
    if not needed:
        return []
    hint = f"apt-get install {' '.join(needed)}"
    if shutil.which("apt-get") is None:
        raise MissingPrerequisiteError(
            f"{reason} needs the Debian packages {', '.join(needed)} and this machine has no "
            f"apt-get; install their equivalents and run setup again"
        )
    if os.geteuid() != 0:
        raise MissingPrerequisiteError(
            f"{reason} needs packages that are missing; run: sudo {hint}"
        )
    log.info("apt_install", packages=needed, reason=reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands.run(["apt-get", "update", "-qq"], env=env)
    commands.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *needed],
        env=env,
        on_line=lambda line: reporter.update("apt", line),
    )
    return needed
