"""Makes a machine ready to run Inner Universe: the server, a wasm32 toolchain, the module."""

from nerv_inner_universe.toolchain.errors import (
    CommandFailedError,
    MissingPrerequisiteError,
    ToolchainError,
)
from nerv_inner_universe.toolchain.module import build_module, built_module
from nerv_inner_universe.toolchain.server import find_server
from nerv_inner_universe.toolchain.setup import SetupResult, StepResult, setup

__all__ = [
    "CommandFailedError",
    "MissingPrerequisiteError",
    "SetupResult",
    "StepResult",
    "ToolchainError",
    "build_module",
    "built_module",
    "find_server",
    "setup",
]
