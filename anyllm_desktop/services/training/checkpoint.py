"""A training run's state on disk, so a cancelled, crashed or restarted run continues where
it stopped: the LoRA, AdamW's moments and the steps done, as one ``.npz`` written beside the
old one and renamed over it (a crash mid-write leaves the previous checkpoint whole)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from anyllm_desktop.services.training.lora import TrainState

STATE = "state.npz"


def save(folder: Path, state: TrainState) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    leaves = jax.tree_util.tree_leaves((state.lora, state.opt_state))
    partial = folder / (STATE + ".partial.npz")
    np.savez(partial, step=np.int64(state.step), **{f"leaf{i}": np.asarray(v)
                                                     for i, v in enumerate(leaves)})  # fmt: skip
    partial.replace(folder / STATE)


def load(folder: Path, like: TrainState) -> TrainState | None:
    """The checkpoint in ``folder`` in the shape of ``like``; None when there is none or it is
    not this run's (other settings: its arrays do not fit)."""
    path = folder / STATE
    if not path.is_file():
        return None
    template, treedef = jax.tree_util.tree_flatten((like.lora, like.opt_state))
    with np.load(path) as data:
        leaves = [data[f"leaf{i}"] for i in range(len(template)) if f"leaf{i}" in data]
        step = int(data["step"])
    if len(leaves) != len(template) or any(
        a.shape != np.shape(b) for a, b in zip(leaves, template, strict=True)
    ):
        return None
    lora, opt_state = jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(v) for v in leaves])
    return TrainState(lora, opt_state, step)


def keep_json(folder: Path, name: str, value: Any) -> None:
    """A small result kept with the checkpoint (the "before" numbers: not measured twice)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(value), encoding="utf-8")


def read_json(folder: Path, name: str) -> Any:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
