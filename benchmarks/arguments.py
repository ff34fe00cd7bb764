"""Command-line argument types the benchmarks share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def json_destination(text: str) -> Path:
    """``--json FILE``: a file in an existing, writable directory, checked before the run (a
    long run must not end in an error for a path it could have refused at once)."""
    path = Path(text)
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; name a file")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is not a directory")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"{folder} is not writable")
    return path


def profile_directory(text: str) -> Path:
    """``--profile DIR``: a directory, or a path one can be made at (its nearest existing
    ancestor is a writable directory), checked before the run."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    existing = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is not a directory")
    if not os.access(existing, os.W_OK):
        raise argparse.ArgumentTypeError(f"{existing} is not writable")
    return path
