"""Where the token the controller acts with lives."""

from __future__ import annotations

from pathlib import Path

import attrs

from nerv_inner_universe.client import TokenStore
from nerv_inner_universe.controller.config import InnerUniverseConfig
from nerv_inner_universe.controller.layout import DbLayout


@attrs.frozen
class OwnerToken:
    """The owner's token: with the data for a server on ``db_path`` (it validates only
    against the keys kept there, so data, keys and token travel together), in the user's
    token store for a remote server (``server_url``). Reading or writing raises the client's
    `TokenStoreError` when the file is unsafe."""

    config: InnerUniverseConfig
    layout: DbLayout

    @property
    def path(self) -> Path:
        """The token's file."""
        if self.config.server_url is None:
            return self.layout.owner_token_file
        return TokenStore().path(self.config.url, self.config.database)

    def load(self) -> str | None:
        """The saved token; None before the first deployment."""
        if self.config.server_url is None:
            return self.layout.load_owner_token()
        return TokenStore().load(self.config.url, self.config.database)

    def save(self, token: str) -> None:
        """Keeps ``token`` (private file) for the next start."""
        if self.config.server_url is None:
            self.layout.save_owner_token(token)
        else:
            TokenStore().save(self.config.url, self.config.database, token)

    def store(self) -> TokenStore | None:
        """The store a client saves a new token to: none for local data (the deployment
        writes the owner's), the user's for a remote server."""
        return None if self.config.server_url is None else TokenStore()
