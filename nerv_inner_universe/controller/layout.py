"""What lives under ``db_path``, in one place: the server's data and keys, the owner token,
the record of what was deployed and the record of the controller serving it.

Everything that makes the database (data, keys, owner token) sits together, so copying
``db_path`` (or a backup of it) keeps the same identity owning the same data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs

from nerv_inner_universe.client import read_token_file

T = TypeVar("T")

DATA_DIR = "data"
KEYS_DIR = "keys"
SIGNING_KEY = "id_ecdsa"
"""The private key that signs every token the server issues: whoever reads it can mint an
admin's token, so it is 0600 in a 0700 folder, on disk, in backups and after restores."""
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


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
    def signing_key_file(self) -> Path:
        """The token-signing private key (``--jwt-priv-key-path``)."""
        return self.keys_dir / SIGNING_KEY

    @property
    def public_key_file(self) -> Path:
        """The public half (``--jwt-pub-key-path``); verifying needs it, so it may be read."""
        return self.keys_dir / f"{SIGNING_KEY}.pub"

    def secure_keys(self) -> None:
        """Make ``keys/`` 0700 and the signing key and owner token 0600, whatever they were.

        The server (1.2.0) creates a missing key pair with ``std::fs::write``, that is with
        mode 0666 minus its umask; `ServerProcess` starts it with umask 077, so a new key is
        0600 from its first byte. This repairs what an older start, a copy or an archive left
        wider (a 0644 key from a server started without that umask).
        """
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        self.keys_dir.chmod(PRIVATE_DIR_MODE)
        for secret in (self.signing_key_file, self.owner_token_file):
            if secret.exists():
                secret.chmod(PRIVATE_FILE_MODE)

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
        write_json_atomic(self.owner_token_file, {"token": token}, mode=PRIVATE_FILE_MODE)

    def is_empty(self) -> bool:
        return not self.root.exists() or not any(self.root.iterdir())


def open_private(path: Path, mode: str) -> IO[Any]:
    """``open(path, mode)`` (text as UTF-8) for a file only its owner may read: created 0600,
    and an existing file made 0600 before anything is written to it. For exports, logs and
    reports, which name identities."""
    handle = open(  # noqa: SIM115 - the caller closes it (a with block)
        path,
        mode,
        encoding=None if "b" in mode else "utf-8",
        opener=lambda name, flags: os.open(name, flags, PRIVATE_FILE_MODE),
    )
    os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
    return handle


def write_json_atomic(path: Path, value: Any, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Readers see the old file or the new one, never half of one. 0600 unless told: the
    records under ``db_path`` name identities, databases and paths."""
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


def read_attrs(path: Path, cls: type[T]) -> T | None:
    """The attrs record ``cls`` kept as a JSON object at ``path``; None when it is missing,
    torn or of another shape."""
    raw = read_json(path)
    if not isinstance(raw, dict):
        return None
    try:
        return cls(**raw)
    except TypeError:
        return None
