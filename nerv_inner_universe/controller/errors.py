"""Errors of running the server: each names the situation and what to do about it."""

from __future__ import annotations


class ControllerError(Exception):
    """Starting, stopping or managing the Inner Universe server failed."""


class ServerBinaryMissingError(ControllerError):
    """No spacetimedb-standalone 1.2.0 was found."""


class PortInUseError(ControllerError):
    """Something already listens on the address and port the server should use."""


class DataDirLockedError(ControllerError):
    """Another server holds the data dir (SpacetimeDB allows one server per data dir)."""


class ServerStartError(ControllerError):
    """The server process exited or did not become healthy in time."""


class ServerUnreachableError(ControllerError):
    """No server answers at the configured address (server mode attaching to a remote)."""
