"""The workspace/ingest/docs/search commands as a user runs them, and a real kill mid-ingest."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import BIN_DIR
from tests.e2e.conftest import DATA

pytestmark = pytest.mark.e2e


def anyllm(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """An `anyllm` command, in this process (tests/cli_runner.py)."""
    return run_cli(env, *args, input=input)


def anyllm_process(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `anyllm` command as its own process."""
    return subprocess.run([str(BIN_DIR / "anyllm"), *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False, input=input)  # fmt: skip


def test_workspace_ingest_docs_search_contract(
    child_env: dict[str, str], tmp_path: Path, guide_excerpt: Path
) -> None:
    assert anyllm(child_env, "workspace", "create", "Manuals").returncode == 0
    again = anyllm(child_env, "workspace", "create", "manuals")
    assert again.returncode == 2 and "already exists" in again.stderr
    drop = tmp_path / "drop"
    drop.mkdir()
    for source in (guide_excerpt, DATA / "officer-example.pptx", DATA / "debian-faq-archives.html"):
        (drop / source.name).write_bytes(source.read_bytes())
    (drop / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")

    ingested = anyllm(child_env, "ingest", "-w", "Manuals", str(drop), "--json")
    assert ingested.returncode == 1  # one file failed; the others are in
    files = {Path(f["path"]).name: f for f in json.loads(ingested.stdout)["files"]}
    assert files["broken.docx"]["status"] == "failed" and files["broken.docx"]["reason"]
    assert all(files[n]["status"] == "indexed" for n in files if n != "broken.docx")

    listing = json.loads(anyllm(child_env, "workspace", "list", "--json").stdout)
    assert listing["workspaces"][0]["name"] == "Manuals"
    assert listing["workspaces"][0]["documents"] == 3

    docs = json.loads(anyllm(child_env, "docs", "-w", "Manuals", "--json").stdout)["documents"]
    assert {d["status"] for d in docs} == {"indexed", "failed"}
    for doc in docs:
        assert {"document", "path", "status", "chunks"} <= doc.keys()

    found = anyllm(child_env, "search", "-w", "Manuals", "default input encoding UTF8 unicode",
                   "-k", "3", "--json")  # fmt: skip
    results = json.loads(found.stdout)["results"]
    assert [r["rank"] for r in results] == [1, 2, 3]
    for result in results:
        assert {"rank", "score", "document", "path", "page", "section", "text"} <= result.keys()
    pdf = next(r for r in results if r["path"].endswith(".pdf"))
    assert isinstance(pdf["page"], int) and pdf["page"] >= 1
    slide = json.loads(anyllm(child_env, "search", "-w", "Manuals", "Salut blah Header", "-k", "4",
                              "--json").stdout)["results"]  # fmt: skip
    assert any(r["path"].endswith(".pptx") and r["page"] == 1 for r in slide)
    html = json.loads(anyllm(child_env, "search", "-w", "Manuals", "Toy Story codenames", "-k",
                             "1", "--json").stdout)["results"]  # fmt: skip
    assert html[0]["page"] is None and "codenames" in html[0]["section"]

    assert anyllm(child_env, "workspace", "rename", "Manuals", "Docs").returncode == 0
    assert anyllm(child_env, "workspace", "delete", "Docs").returncode == 0
    gone = anyllm(child_env, "search", "-w", "Docs", "anything")
    assert gone.returncode == 2 and "no workspace named 'Docs'" in gone.stderr


def test_killed_mid_ingest_then_run_again(
    child_env: dict[str, str], anyllm_home: Path, guide_excerpt: Path
) -> None:
    """SIGKILL while a big drop is being embedded; the next run leaves a complete, consistent
    workspace (interrupted files cleaned up and ingested again)."""
    assert anyllm(child_env, "workspace", "create", "K").returncode == 0
    sources = (DATA / "debian-faq-archives.html", DATA / "live-manual.epub", guide_excerpt,
               DATA / "nodejs-string-decoder.md")  # fmt: skip
    files = [str(source) for source in sources]
    process = subprocess.Popen([str(BIN_DIR / "anyllm"), "ingest", "-w", "K", *files],
                               env=child_env, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None
    first_line = process.stdout.readline()  # the first file is committed...
    assert first_line.startswith("indexed")
    time.sleep(1.5)  # ...and the next window is being embedded
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert process.returncode == -signal.SIGKILL

    rerun = anyllm(child_env, "ingest", "-w", "K", *files, "--json")
    assert rerun.returncode == 0, rerun.stderr
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(rerun.stdout)["files"]}
    assert set(statuses.values()) <= {"indexed", "duplicate"}
    docs = json.loads(anyllm(child_env, "docs", "-w", "K", "--json").stdout)["documents"]
    assert len(docs) == 4 and {d["status"] for d in docs} == {"indexed"}
    with sqlite3.connect(anyllm_home / "library.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM documents WHERE status != 'indexed'"
                          ).fetchone()[0] == 0  # fmt: skip
    import lancedb

    db = lancedb.connect(str(anyllm_home / "workspaces" / "lancedb"))
    (name,) = db.list_tables().tables  # the workspace's one table (named by its uid)
    table = db.open_table(name)
    assert table.count_rows() == sum(d["chunks"] for d in docs)
    found = json.loads(anyllm(child_env, "search", "-w", "K", "StringDecoder", "-k", "2",
                              "--json").stdout)["results"]  # fmt: skip
    assert found and "StringDecoder" in found[0]["text"]
