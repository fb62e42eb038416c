"""``anyllm serve``: the OpenAI-compatible local API server (being built)."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:  # filled in by its owner
    del commands
