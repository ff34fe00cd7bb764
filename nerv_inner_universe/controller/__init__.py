"""Owns the Inner Universe server process: config, lifecycle, deployment and server mode,
backup, restore and export. `InnerUniverseController` is the facade; each job has its file
(see `controller.controller`)."""

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.controller.backup import BackupManifest
from nerv_inner_universe.controller.config import (
    DEFAULT_SECTION,
    ENV_PREFIX,
    InnerUniverseConfig,
    load_config,
)
from nerv_inner_universe.controller.controller import InnerUniverseController
from nerv_inner_universe.controller.deployment import Deployment
from nerv_inner_universe.controller.errors import (
    AuthenticationError,
    BackupError,
    ControllerError,
    DataDirLockedError,
    DataImportError,
    DurabilityError,
    ExportError,
    ImportRefusedError,
    ModuleUpdateRejectedError,
    NotDeployedError,
    PortInUseError,
    RedactionRefusedError,
    RestoreError,
    ServerAlreadyRunningError,
    ServerBinaryMissingError,
    ServerDiedError,
    ServerStartError,
    ServerUnreachableError,
)
from nerv_inner_universe.controller.export import ExportSummary
from nerv_inner_universe.controller.maintenance import RestoreResult
from nerv_inner_universe.controller.mode import Mode
from nerv_inner_universe.controller.process import ServerProcess, free_port
from nerv_inner_universe.controller.status import ServerStatus
from nerv_inner_universe.controller.subscriptions import DEFAULT_TABLES, TableHandlers
from nerv_inner_universe.controller.supervision import ServerExit

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
    "ImportRefusedError",
    "InnerUniverseConfig",
    "InnerUniverseController",
    "Mode",
    "ModuleUpdateRejectedError",
    "NotDeployedError",
    "PortInUseError",
    "RedactionRefusedError",
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
