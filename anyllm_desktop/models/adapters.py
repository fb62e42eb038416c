"""LoRA adapters kept in the app's home, trained here or imported, each with its card.

On disk, ``HOME/adapters/ID/`` holds ``adapter.gguf`` (what llama.cpp loads with
``lora_path``) and ``card.json`` (:class:`AdapterCard`: the base model it was made for, the
data and settings it was trained with, its before/after numbers). An adapter is written to a
temporary folder and renamed into place, so a crash never leaves half of one. This store is
the one place adapters are written: the training job hands its GGUF and card to :meth:`add`.

An adapter is used as a model through the id ``BASE+ID`` (``embedded:NAME+ID`` or
``/models/x.gguf+ID``), resolved by ``services/adapter_models.py``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyllm_desktop.models.catalog import VerificationCache, sha256_of
from anyllm_desktop.models.local_models import GGUFError, read_gguf_metadata, tensor_shapes

if TYPE_CHECKING:
    from anyllm_desktop.core.paths import AppPaths

TRAINED_HERE = "trained here"
IMPORTED = "imported"
ADAPTER_FILE = "adapter.gguf"
CARD_FILE = "card.json"

#: An adapter's id: a slug of its name and 6 hex digits ("support-answers-3fa2b1").
ADAPTER_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{6}")


class AdapterError(ValueError):
    """A file that is no LoRA adapter, or an adapter that does not fit the base model."""


class UnknownAdapterError(KeyError):
    """No adapter of that id here (the message names the ones there are)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class AdapterCard:
    name: str
    #: ``general.architecture`` of the base (and of the adapter's GGUF): "llama", "qwen2", ...
    architecture: str
    source: str = TRAINED_HERE
    #: The model id of the base (BASE in ``BASE+ID``); "" when not known (imported without one).
    base_model: str = ""
    base_name: str = ""
    #: Of the base model's GGUF file; "" when not known (then only the architecture is checked).
    base_sha256: str = ""
    #: name, examples, sha256 of the training set.
    dataset: dict[str, Any] = field(default_factory=dict)
    #: rank, alpha, targets, epochs, learning_rate, max_length.
    settings: dict[str, Any] = field(default_factory=dict)
    #: held-out loss before/after and whatever else the run measured.
    results: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    id: str = ""
    #: Of adapter.gguf.
    sha256: str = ""
    #: Imported: the file it came from.
    origin: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdapterCard:
        """A card as written by this or a later version (keys it does not know are left out)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class BaseModel:
    """The model an adapter runs on: its id (BASE in ``BASE+ID``), name and GGUF file; the
    file's sha256 when the catalog knows it (else it is hashed when needed)."""

    model_id: str
    name: str
    path: Path
    sha256: str = ""


def split_model_id(model_id: str) -> tuple[str, str] | None:
    """(BASE, ADAPTER_ID) of an id ``BASE+ADAPTER_ID``; None for any other id."""
    base, plus, adapter = model_id.rpartition("+")
    if not plus or not base or not ADAPTER_ID.fullmatch(adapter):
        return None
    return base, adapter


def make_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32].strip("-")
    return f"{slug or 'adapter'}-{secrets.token_hex(3)}"


def read_adapter(path: Path) -> dict[str, Any]:
    """architecture, alpha, rank, targets, layers and each pair's (in, out) ("shapes") of a
    GGUF LoRA adapter; AdapterError naming the file and the reason when it is not one llama.cpp
    would load."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{path.name} is not a GGUF file ({exc})") from exc

    def value(key: str) -> Any:
        found = reader.fields.get(key)
        return found.contents() if found is not None else None

    kind, adapter_type = value("general.type"), value("adapter.type")
    if kind != "adapter":
        raise AdapterError(f"{path.name} is not a LoRA adapter: its general.type is "
                           f"{kind or 'missing'!r}, not 'adapter' (a model file is imported "
                           "in the model manager instead)")  # fmt: skip
    if adapter_type != "lora":
        raise AdapterError(f"{path.name} is an adapter of type {adapter_type or 'missing'!r}; "
                           "only LoRA adapters (adapter.type 'lora') can be used")  # fmt: skip
    alpha, architecture = value("adapter.lora.alpha"), value("general.architecture")
    if alpha is None or not architecture:
        missing = "adapter.lora.alpha" if alpha is None else "general.architecture"
        raise AdapterError(f"{path.name} lacks {missing}, so llama.cpp cannot apply it")
    tensors = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    pairs = [n.removesuffix(".lora_a") for n in tensors if n.endswith(".lora_a")]
    if not pairs or any(f"{name}.lora_b" not in tensors for name in pairs):
        raise AdapterError(f"{path.name} has no complete .lora_a/.lora_b tensor pairs")
    # ggml shapes: lora_a [in, rank], lora_b [rank, out].
    shapes = {n: (tensors[f"{n}.lora_a"][0], tensors[f"{n}.lora_b"][1]) for n in pairs}
    blocks = [n.split(".") for n in pairs if n.startswith("blk.")]
    return {"architecture": str(architecture), "alpha": float(alpha),
            "rank": tensors[f"{pairs[0]}.lora_a"][1], "targets": sorted({b[2] for b in blocks}),
            "layers": len({b[1] for b in blocks}), "shapes": shapes,
            "name": value("general.name") or path.stem}  # fmt: skip


class AdapterStore:
    """The adapters of one home folder."""

    def __init__(self, paths: AppPaths) -> None:
        self.root = paths.adapters_dir
        self._verified = VerificationCache(paths.cache_dir / "verified-models.json")

    def list(self) -> list[AdapterCard]:
        """Every adapter, oldest first."""
        if not self.root.is_dir():
            return []
        found = [self._read(p) for p in self.root.iterdir()
                 if not p.name.startswith(".") and (p / CARD_FILE).is_file()]  # fmt: skip
        return sorted(found, key=lambda c: (c.created, c.id))

    def get(self, adapter_id: str) -> AdapterCard:
        folder = self.root / adapter_id
        if not ADAPTER_ID.fullmatch(adapter_id) or not (folder / CARD_FILE).is_file():
            known = ", ".join(f"{c.id} ({c.name})" for c in self.list()) or "none yet"
            raise UnknownAdapterError(f"There is no adapter {adapter_id!r} (adapters: {known}). "
                                      "See them with `anyllm adapters list`.")  # fmt: skip
        return self._read(folder)

    def file(self, adapter_id: str) -> Path:
        """The adapter's GGUF (what ``lora_path`` names)."""
        return self.root / self.get(adapter_id).id / ADAPTER_FILE

    def add(self, gguf_path: Path, card: AdapterCard) -> AdapterCard:
        """Keep a copy of the adapter ``gguf_path`` with ``card`` (given a new id when it has
        none; its created time and sha256 filled in); returns the card as kept."""
        if not card.id:
            card.id = make_id(card.name)
            while (self.root / card.id).exists():
                card.id = make_id(card.name)
        elif not ADAPTER_ID.fullmatch(card.id) or (self.root / card.id).exists():
            raise AdapterError(f"{card.id!r} cannot be an adapter's id: it is taken or not "
                               "of the form name-1a2b3c")  # fmt: skip
        card.created = card.created or time.time()
        card.sha256 = sha256_of(gguf_path)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = self.root / f".{card.id}.{os.getpid()}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        try:
            shutil.copyfile(gguf_path, staging / ADAPTER_FILE)
            text = json.dumps(card.to_json(), indent=2, ensure_ascii=False) + "\n"
            (staging / CARD_FILE).write_text(text, encoding="utf-8")
            staging.rename(self.root / card.id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return card

    def import_file(
        self, path: Path, base: BaseModel | None = None, name: str | None = None
    ) -> AdapterCard:
        """Keep an adapter made elsewhere; with ``base``, it is checked against that model and
        listed under it. AdapterError with the file and the reason when it is refused."""
        if not path.is_file():
            raise AdapterError(f"{path}: there is no such file")
        found = read_adapter(path)
        card = AdapterCard(
            name=name or str(found["name"]),
            architecture=found["architecture"],
            source=IMPORTED,
            settings={k: found[k] for k in ("rank", "alpha", "targets", "layers")},
            origin=str(path.resolve()),
        )
        if base is not None:
            self.matches(card, base, path)
            card.base_model, card.base_name = base.model_id, base.name
            card.base_sha256 = base.sha256 or self._sha256(base.path)
        return self.add(path, card)

    def delete(self, adapter_id: str) -> None:
        card = self.get(adapter_id)  # a missing one is said with the ids there are
        gone = self.root / f".{card.id}.{os.getpid()}.old"
        (self.root / card.id).rename(gone)
        shutil.rmtree(gone)

    def matches(self, card: AdapterCard, base: BaseModel, adapter_file: Path | None = None) -> None:
        """Refuses (AdapterError naming both) a base of another architecture or other layer
        shapes than the adapter's (llama.cpp would leave such an adapter out without a word),
        or — when the card names its base's sha256 — another file. ``adapter_file``: the
        adapter's GGUF when it is not kept yet (an import)."""
        try:
            architecture = read_gguf_metadata(base.path).get("general.architecture", "")
            model = tensor_shapes(base.path)
        except (OSError, GGUFError) as exc:
            raise AdapterError(f"{base.name} ({base.path}) cannot be read: {exc}") from exc
        adapter = f"The adapter {card.name!r}" + (f" ({card.id})" if card.id else "")
        if architecture != card.architecture:
            raise AdapterError(f"{adapter} is for '{card.architecture}' models, but {base.name} "
                               f"is '{architecture or 'unknown'}': choose a base model of its "
                               "architecture")  # fmt: skip
        if card.base_sha256 and not self._same_file(base, card.base_sha256):
            made_for = card.base_name or "another model"
            use = card.base_model or made_for
            raise AdapterError(f"{adapter} was made for {made_for} (sha256 "
                               f"{card.base_sha256[:12]}…), not for {base.name} "
                               f"({base.path.name}): use it with {use}")  # fmt: skip
        shapes = read_adapter(adapter_file or self.root / card.id / ADAPTER_FILE)["shapes"]
        for name, (inp, out) in shapes.items():
            has = model.get(name)
            if has is None or has[:2] != (inp, out):
                there = f"{has[0]}→{has[1]}" if has else "no such layer"
                raise AdapterError(f"{adapter} does not fit {base.name}: its {name} is "
                                   f"{inp}→{out}, the model has {there}. It was made for "
                                   "another model of the same architecture; use it with that "
                                   "one")  # fmt: skip

    def _same_file(self, base: BaseModel, sha256: str) -> bool:
        if base.sha256:
            return base.sha256 == sha256
        return self._verified.is_verified(base.path, sha256) or self._sha256(base.path) == sha256

    def _sha256(self, path: Path) -> str:
        """The file's sha256, remembered by path, size and time (a base is hashed once)."""
        digest = sha256_of(path)
        self._verified.remember(path, digest)
        return digest

    def _read(self, folder: Path) -> AdapterCard:
        return AdapterCard.from_json(json.loads((folder / CARD_FILE).read_text(encoding="utf-8")))
