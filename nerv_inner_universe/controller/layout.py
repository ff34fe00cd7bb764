"""What lives under ``db_path``, in one place: the server's data and keys, the owner token,
the record of what was deployed and the record of the controller serving it.

Everything that makes the database (data, keys, owner token) sits together, so copying
``db_path`` (or a backup of it) keeps the same identity owning the same data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe.client import read_token_file

DATA_DIR = "data"
KEYS_DIR = "keys"


@attrs.frozen
class DbLayout:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def keys_dir(self) -> Path:
        return self.root / KEYS_DIR

    @property
    def owner_token_file(self) -> Path:
        """The token of the identity that publishes the databases here (0600), shared by every
        database under ``db_path``: this is the file a plugin's ``token_file`` names. It belongs
        to the keys beside it, not to an address or port, which may change between runs."""
        return self.root / "owner.token"

    @property
    def deployment_file(self) -> Path:
        """What was published last: database, its identity, the module's sha256."""
        return self.root / "deployment.json"

    @property
    def pid_file(self) -> Path:
        """Which process serves ``db_path`` now (see `pidfile`)."""
        return self.root / "controller.json"

    @property
    def requests_dir(self) -> Path:
        """Requests to the serving process from other processes (a backup)."""
        return self.root / "requests"

    def load_owner_token(self) -> str | None:
        """None when there is none yet; refuses a file other users can read."""
        return read_token_file(self.owner_token_file)

    def save_owner_token(self, token: str) -> None:
        write_json_atomic(self.owner_token_file, {"token": token}, mode=0o600)

    def is_empty(self) -> bool:
        return not self.root.exists() or not any(self.root.iterdir())


def write_json_atomic(path: Path, value: Any, *, mode: int = 0o644) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a leftover could carry a wider mode than ``mode``
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None when it is missing or unreadable (a stale or torn record)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
