"""Owns the Inner Universe server process: config, lifecycle, deployment and server mode."""

from nerv_inner_universe.controller.errors import (
    ControllerError,
    DataDirLockedError,
    PortInUseError,
    ServerBinaryMissingError,
    ServerStartError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.process import ServerProcess, free_port

__all__ = [
    "ControllerError",
    "DataDirLockedError",
    "PortInUseError",
    "ServerBinaryMissingError",
    "ServerProcess",
    "ServerStartError",
    "ServerUnreachableError",
    "free_port",
]
