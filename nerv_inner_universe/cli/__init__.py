"""The `inner-universe` command."""

from nerv_inner_universe.cli.main import main

__all__ = ["main"]
