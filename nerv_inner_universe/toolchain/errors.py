"""Errors of machine setup: each says what is missing and how to get it."""

from __future__ import annotations


class ToolchainError(Exception):
    """Setting up the server, the wasm target or the module failed."""


class MissingPrerequisiteError(ToolchainError):
    """Something setup cannot install by itself; the message names exactly what to install."""


class CommandFailedError(ToolchainError):
    """A build command exited non-zero; the message carries the command and its last lines."""

    def __init__(self, argv: list[str], returncode: int, tail: list[str]) -> None:
        self.argv = argv
        self.returncode = returncode
        self.tail = tail
        shown = "\n".join(f"  {line}" for line in tail)
        super().__init__(f"`{' '.join(argv)}` exited with {returncode}; last output:\n{shown}")
