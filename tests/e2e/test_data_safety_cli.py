"""Data safety as a user meets it on the command line: two processes writing one workspace, a
lost database, a full disk, names with control characters (the real `anyllm` command, real
files; real processes where two of them or the disk are the point)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.conftest import BIN_DIR
from tests.e2e.conftest import DATA

pytestmark = pytest.mark.e2e
ANYLLM = str(BIN_DIR / "anyllm")


def anyllm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A command in this process (tests/cli_runner.py); the writers and the full disk below
    are real processes."""
    return run_cli(env, *args)


def test_two_processes_ingesting_the_same_files_leave_each_file_once(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("debian-faq-archives.html", "nodejs-string-decoder.md", "readxl-iris.csv",
                 "officer-example.docx"):  # fmt: skip
        shutil.copy(DATA / name, drop / name)
    assert anyllm(child_env, "workspace", "create", "W").returncode == 0
    command = [ANYLLM, "ingest", "-w", "W", str(drop), "--json"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    first, second = (subprocess.Popen(command, env=child_env, **pipes) for _ in range(2))
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    waited = [err for _, err in outputs if "Waiting: workspace 'W' is being indexed" in err]
    assert waited and "another process" in waited[0]
    runs = [{Path(f["path"]).name: f["status"] for f in json.loads(out)["files"]}
            for out, _ in outputs]  # fmt: skip
    for name in runs[0]:  # each file indexed by exactly one of them, a duplicate for the other
        assert sorted([runs[0][name], runs[1][name]]) == ["duplicate", "indexed"]
    docs = json.loads(anyllm(child_env, "docs", "-w", "W", "--json").stdout)["documents"]
    assert len(docs) == 4 and {d["status"] for d in docs} == {"indexed"}
    from anyllm_desktop.services.library import Library
    from anyllm_desktop.services.runtime import Runtime

    library = Library(Runtime.open())
    try:
        table = library.table(library.workspace("W"))
        assert library.vectors.count(table) == sum(d["chunks"] for d in docs)  # no orphan rows
    finally:
        library.close()


def test_a_lost_database_is_said_and_start_over_keeps_the_old_indexes_apart(
    child_env: dict[str, str], anyllm_home: Path, tmp_path: Path
) -> None:
    note = tmp_path / "faq.md"
    note.write_text("# FAQ\n\nThe R FAQ says to use install.packages.\n", encoding="utf-8")
    anyllm(child_env, "workspace", "create", "R")
    assert anyllm(child_env, "ingest", "-w", "R", str(note)).returncode == 0
    (anyllm_home / "library.sqlite3").unlink()
    listed = anyllm(child_env, "workspace", "list")
    assert listed.returncode == 2 and "Traceback" not in listed.stderr
    assert "does not belong to the indexes" in listed.stderr
    assert "no workspaces yet" not in listed.stdout
    over = anyllm(child_env, "library", "start-over")
    assert over.returncode == 0 and "moved to" in over.stdout
    anyllm(child_env, "workspace", "create", "New")
    other = tmp_path / "garden.md"
    other.write_text("# Garden\n\nTomatoes need sun.\n", encoding="utf-8")
    anyllm(child_env, "ingest", "-w", "New", str(other))
    found = json.loads(
        anyllm(child_env, "search", "-w", "New", "install.packages", "--json").stdout
    )
    assert [r["document"] for r in found["results"]] == ["Garden"]
    assert anyllm(child_env, "library", "check").returncode == 0


def test_names_with_control_characters_are_printed_escaped(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    note = tmp_path / "evil\x1b[31mred\nline.md"
    note.write_text("# Evil\n\nA name with an escape sequence.\n", encoding="utf-8")
    anyllm(child_env, "workspace", "create", "E")
    done = anyllm(child_env, "ingest", "-w", "E", str(note))
    assert done.returncode == 0
    assert "\x1b" not in done.stdout and "evil\\x1b[31mred\\nline.md" in done.stdout
    assert "\x1b" not in anyllm(child_env, "docs", "-w", "E").stdout


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_a_full_disk_is_said_and_reading_keeps_working(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    """A small tmpfs in a private mount namespace, filled up after the first ingest."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    home = disk / "home"
    script = f"""
set -e
mount -t tmpfs -o size=80m tmpfs {disk}
export ANYLLM_HOME={home}
printf '# Lanterns\\n\\nPaper lanterns float on the river at night.\\n' > {disk}/a.md
cp {DATA / "debian-faq-archives.html"} {disk}/b.html
{ANYLLM} workspace create W > /dev/null
{ANYLLM} ingest -w W {disk}/a.md > /dev/null
dd if=/dev/zero of={disk}/fill bs=64k > /dev/null 2>&1 || true
set +e
for step in "docs -w W" "search -w W lanterns -k 1" "ingest -w W {disk}/b.html" \\
            "workspace create X" "workspace list"; do
    name=$(echo "$step" | tr ' /' '__' | cut -c1-20)
    {ANYLLM} $step > {out}/$name.out 2> {out}/$name.err
    echo $? > {out}/$name.rc
done
"""
    mounted = subprocess.run(["unshare", "-Urm", "sh", "-c", script], env=child_env,
                             capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    if mounted.returncode != 0 and "mount" in mounted.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()[:200]}")

    def result(prefix: str) -> tuple[int, str, str]:
        name = next(p.stem for p in out.glob(f"{prefix}*.rc"))
        read = lambda suffix: (out / f"{name}.{suffix}").read_text()  # noqa: E731
        return int(read("rc")), read("out"), read("err")

    rc, text, _ = result("docs")
    assert rc == 0 and "Lanterns" in text
    rc, text, _ = result("search")
    assert rc == 0 and "Paper lanterns float" in text
    for prefix in ("ingest", "workspace_create"):
        rc, _, err = result(prefix)
        assert rc == 2 and f"The disk holding {home} is full" in err and "Traceback" not in err
    rc, text, _ = result("workspace_list")
    assert rc == 0 and "W  (1 documents)" in text


def test_a_removed_index_folder_is_said_and_reindex_repairs_it(
    child_env: dict[str, str], anyllm_home: Path, tmp_path: Path
) -> None:
    note = tmp_path / "kites.md"
    note.write_text("# Kites\n\nKites fly best in steady wind.\n", encoding="utf-8")
    anyllm(child_env, "workspace", "create", "K")
    assert anyllm(child_env, "ingest", "-w", "K", str(note)).returncode == 0
    for table in (anyllm_home / "workspaces" / "lancedb").glob("*.lance"):
        shutil.rmtree(table)
    docs = anyllm(child_env, "docs", "-w", "K")
    assert "lost their passages" in docs.stderr and "anyllm workspace reindex" in docs.stderr
    searched = anyllm(child_env, "search", "-w", "K", "wind")
    assert searched.returncode == 2 and "missing" in searched.stderr
    assert "Traceback" not in searched.stderr
    assert anyllm(child_env, "library", "check").returncode == 1
    again = anyllm(child_env, "ingest", "-w", "K", str(note))
    assert again.returncode == 0 and again.stdout.startswith("indexed"), again.stdout
    for table in (anyllm_home / "workspaces" / "lancedb").glob("*.lance"):
        shutil.rmtree(table)
    repaired = anyllm(child_env, "workspace", "reindex", "K")
    assert repaired.returncode == 0 and repaired.stdout.startswith("indexed"), repaired.stdout
    assert "Kites fly best" in anyllm(child_env, "search", "-w", "K", "wind").stdout
    assert anyllm(child_env, "library", "check").returncode == 0
