"""Errors of running the server: each names the situation and what to do about it."""

from __future__ import annotations

from nerv_inner_universe.contract import ErrorCode


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


class ServerAlreadyRunningError(ControllerError):
    """A controller in another process already serves this db_path."""


class ServerDiedError(ControllerError):
    """The server exited while the controller was running it (and was not restarted)."""


class NotDeployedError(ControllerError):
    """The database does not exist on the server: nothing was deployed yet."""


class AuthenticationError(ControllerError):
    """The server refused the token (HTTP 401), or the database belongs to another identity."""


class ModuleUpdateRejectedError(ControllerError):
    """The server refused to migrate the database to the new module (incompatible schema)."""


class BackupError(ControllerError):
    """A backup could not be taken; nothing was written at its destination."""


class RestoreError(ControllerError):
    """An archive was refused or could not be restored; the existing data is untouched."""


class DataImportError(ControllerError):
    """An export file cannot be imported (malformed, truncated, or refused by the module)."""


class ImportRefusedError(DataImportError):
    """The module refused a call of the import (`import_rows`): that call changed nothing, but
    the batches before it stay and the import stays open, so import again into a fresh data
    dir. ``code`` is the module's (``integrity_error``: rows break a rule the module keeps,
    e.g. an `eventsourcing` position taken twice or notification ids with a gap;
    ``already_exists``: a row imported twice; ``invalid_argument``; ``in_use``: the database
    is not fresh), None for an unknown one."""

    def __init__(self, message: str, code: ErrorCode | None) -> None:
        super().__init__(message)
        self.code = code


class ExportError(ControllerError):
    """An export could not be taken consistently; nothing was written at its destination."""


class DurabilityError(ControllerError):
    """What the server acknowledged could not be confirmed on disk (see `durability`)."""


class RedactionRefusedError(ControllerError):
    """The module refused a redaction; nothing changed. ``code`` is the module's
    (``permission_denied``: the identity is no admin, ``not_found``, ``in_use``: later rows
    depend on it, ``redacted``: done already, ``invalid_argument``), None for an unknown one."""

    def __init__(self, message: str, code: ErrorCode | None) -> None:
        super().__init__(message)
        self.code = code
