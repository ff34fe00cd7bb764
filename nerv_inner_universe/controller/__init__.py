"""Owns the Inner Universe server process: config, lifecycle, deployment and server mode,
backup, restore and export."""

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.controller.backup import BackupManifest
from nerv_inner_universe.controller.config import (
    DEFAULT_SECTION,
    ENV_PREFIX,
    InnerUniverseConfig,
    load_config,
)
from nerv_inner_universe.controller.controller import (
    DEFAULT_TABLES,
    Deployment,
    InnerUniverseController,
    RestoreResult,
    ServerExit,
    ServerStatus,
    TableHandlers,
)
from nerv_inner_universe.controller.errors import (
    AuthenticationError,
    BackupError,
    ControllerError,
    DataDirLockedError,
    DataImportError,
    DurabilityError,
    ExportError,
    ModuleUpdateRejectedError,
    NotDeployedError,
    PortInUseError,
    RestoreError,
    ServerAlreadyRunningError,
    ServerBinaryMissingError,
    ServerDiedError,
    ServerStartError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.export import ExportSummary
from nerv_inner_universe.controller.process import ServerProcess, free_port

__all__ = [
    "DEFAULT_SECTION",
    "DEFAULT_TABLES",
    "ENV_PREFIX",
    "AuthenticationError",
    "BackupError",
    "BackupManifest",
    "ConfigError",
    "ControllerError",
    "DataDirLockedError",
    "DataImportError",
    "Deployment",
    "DurabilityError",
    "ExportError",
    "ExportSummary",
    "InnerUniverseConfig",
    "InnerUniverseController",
    "ModuleUpdateRejectedError",
    "NotDeployedError",
    "PortInUseError",
    "RestoreError",
    "RestoreResult",
    "ServerAlreadyRunningError",
    "ServerBinaryMissingError",
    "ServerDiedError",
    "ServerExit",
    "ServerProcess",
    "ServerStartError",
    "ServerStatus",
    "ServerUnreachableError",
    "TableHandlers",
    "free_port",
    "load_config",
]
