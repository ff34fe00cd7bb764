"""Tokens kept between runs, one per (server, database), readable only by their owner.

A token is a credential: whoever holds it acts as its identity (and owns what it published).
Files are created 0600 in a 0700 directory, written atomically, and a file others can read
is refused rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

from ..log import get_logger
from .errors import ArgumentError, TokenStoreError
from .quiet_secrets import protect

log = get_logger(__name__)

APP_DIR = "nerv-inner-universe"


def default_token_dir() -> Path:
    """``$XDG_CONFIG_HOME/nerv-inner-universe/tokens`` (``~/.config`` when unset)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / APP_DIR / "tokens"


def _server_key(server: str) -> str:
    return server.strip().rstrip("/").lower()


_TOKEN = re.compile(r"[\x21-\x7e]+")


def is_token(value: object) -> bool:
    """Printable ASCII without spaces, as a JWT is (what an HTTP header can carry)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def bearer_header(token: str, source: str) -> dict[str, str]:
    """The ``Authorization`` header for ``token``. Raises ArgumentError naming ``source`` and
    the flaw, never the token, when it cannot be a token (an HTTP header refuses it, and the
    error would show it): printable ASCII without spaces, as a JWT is."""
    if not is_token(token):
        flaw = (
            f"a {type(token).__name__}"
            if not isinstance(token, str)
            else "empty"
            if not token
            else f"{len(token)} characters with a space, a line break or a non-ASCII one"
        )
        raise ArgumentError(
            f"the token from {source} is not a token ({flaw}); a token is printable ASCII "
            "without spaces. Is it the JSON of a token file? Name the file instead (token_file)"
        )
    protect(token)  # sent from now on: no library's log record may show it
    return {"Authorization": f"Bearer {token}"}


def read_token_file(path: Path) -> str | None:
    """The token in ``path``: a TokenStore record (``{"token": ...}``) or a bare token line.
    None if the file does not exist; TokenStoreError for a file other users can read, one
    that cannot be read (a directory) or an empty one."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise TokenStoreError(f"cannot read token file {path}: {error}") from error
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise TokenStoreError(f"token file {path} is not a file (a folder?); name the file")
    try:
        with os.fdopen(fd, "r", encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise TokenStoreError(
                    f"token file {path} is accessible by other users (mode "
                    f"{stat.filemode(mode)}); run `chmod 600 {path}` if it is yours, or delete it"
                )
            text = file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise TokenStoreError(f"cannot read token file {path}: {error}") from None
    if not text:
        raise TokenStoreError(f"token file {path} is empty; put the token in it, or delete it")
    if not text.startswith("{"):
        return text
    try:
        token = json.loads(text)["token"]
    except (ValueError, KeyError, TypeError) as error:
        raise TokenStoreError(f"token file {path} is corrupt ({error}); delete it") from None
    if not isinstance(token, str):
        raise TokenStoreError(f"token file {path} holds no token; delete it")
    return token


class TokenStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_token_dir()

    def path(self, server: str, database: str) -> Path:
        digest = hashlib.sha256(f"{_server_key(server)}\n{database}".encode()).hexdigest()
        return self.directory / f"{digest[:32]}.json"

    def load(self, server: str, database: str) -> str | None:
        return read_token_file(self.path(server, database))

    def save(self, server: str, database: str, token: str) -> Path:
        path = self.path(server, database)
        self._ensure_directory()
        record = {"server": _server_key(server), "database": database, "token": token}
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(record, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise TokenStoreError(f"cannot write token file {path}: {error}") from error
        log.debug("token_saved", server=_server_key(server), database=database, path=str(path))
        return path

    def delete(self, server: str, database: str) -> bool:
        try:
            self.path(server, database).unlink()
        except FileNotFoundError:
            return False
        return True

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if stat.S_IMODE(self.directory.stat().st_mode) != 0o700:
                self.directory.chmod(0o700)
        except OSError as error:
            raise TokenStoreError(
                f"cannot prepare token directory {self.directory}: {error}"
            ) from error
