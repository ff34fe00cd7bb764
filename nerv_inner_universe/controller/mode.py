"""`Mode`: what a started controller does with its server."""

from __future__ import annotations

import enum


class Mode(enum.StrEnum):
    """A started controller's mode (its value is what the pid file records)."""

    DEPLOYMENT = "deployment"
    """Publishes the module as the owner and writes its configuration."""
    SERVER = "server"
    """Serves clients: a connected client subscribed to tables with the caller's handlers."""
    ADMIN = "admin"
    """One-off operator work (status, SQL, logs, export, import) on the running server, or on
    one started on a private port no client knows."""
