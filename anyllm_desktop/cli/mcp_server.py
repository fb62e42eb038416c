"""``anyllm mcp``: the Model Context Protocol server over stdio (being built)."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:  # filled in by its owner
    del commands
