"""A workspace's passages on S3-compatible storage (moto's S3 server on loopback), shared by
processes with separate homes: two writers at once lose nothing and corrupt nothing; a
second process sees the first one's passages; offline mode refuses a non-loopback store."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from anyllm_desktop.core.events import Done
from anyllm_desktop.services.library import Library
from anyllm_desktop.services.outbound import OutboundLog, store_refusal
from anyllm_desktop.services.runtime import Runtime
from anyllm_desktop.store.locations import StoreLocation
from anyllm_desktop.store.shared_manifest import SharedManifest, SharedWorkspace
from anyllm_desktop.store.vectors import PassageRow, VectorStore
from tests.cli_runner import run_cli

KEY_ID, SECRET = "testing-key", "testing-secret"
DIM = 8

_WRITER = textwrap.dedent(
    """
    import sys
    from anyllm_desktop.store.locations import StoreLocation
    from anyllm_desktop.store.shared_manifest import SharedDocument, SharedManifest, SharedWorkspace
    from anyllm_desktop.store.vectors import PassageRow, VectorStore

    endpoint, doc_id, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    location = StoreLocation("s3://team/shared", endpoint, "us-east-1", "testing-key")
    store = VectorStore.at(location, "testing-secret")
    table = store.table("passages", model="test-embedder", dim=8)
    vector = [1.0 if i == doc_id else 0.0 for i in range(8)]
    passages = [PassageRow(doc_id, n, f"doc {doc_id} passage {n}", "", "", None, "", 4, vector)
                for n in range(rows)]
    store.add(table, passages, slice_rows=1)  # one commit per passage: many chances to race
    manifest = SharedManifest(store)
    joined = manifest.claim(SharedWorkspace(f"home{doc_id}", "passages", "test-embedder"))
    manifest.publish(SharedDocument(f"{doc_id:064x}", f"Doc {doc_id}", f"/home{doc_id}/d.txt",
                                    "txt", 1, rows, float(doc_id), f"home{doc_id}"))
    print("done", joined.uid, flush=True)
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # moto keeps its buckets per process, across servers: start each test empty.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", b""))
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        )  # fmt: skip
        client.create_bucket(Bucket="team")
        yield endpoint
    finally:
        server.stop()


def _location(endpoint: str) -> StoreLocation:
    return StoreLocation("s3://team/shared", endpoint, "us-east-1", KEY_ID)


def _writer(
    endpoint: str, doc_id: int, rows: int, home: Path, env: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, endpoint, str(doc_id), str(rows)],
        env={**env, "ANYLLM_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_two_writers_at_once_lose_nothing(
    s3_endpoint: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    store = VectorStore.at(_location(s3_endpoint), SECRET)
    store.table("passages", model="test-embedder", dim=DIM)  # created once, then shared
    SharedManifest(store).claim(SharedWorkspace("first", "passages", "test-embedder"))
    writers = [_writer(s3_endpoint, d, 40, tmp_path / f"home{d}", child_env) for d in (1, 2)]
    for writer in writers:
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        assert out.split() == ["done", "first"]  # both joined the workspace already there

    # A fresh connection, as a third machine would open it: every commit of both is there.
    reader = VectorStore.at(_location(s3_endpoint), SECRET)
    table = reader.table("passages", model="test-embedder", dim=DIM, create=False)
    assert reader.passages_per_document(table) == {1: 40, 2: 40}
    query = np.eye(DIM, dtype=np.float32)[2]
    hits = reader.vector_search(table, query, 3)
    assert {h.doc_id for h in hits} == {2}
    reader.finish_writes(table)  # indexes build over the shared table: it opens and is whole
    assert "passage 5" in reader.passages(table, 1, [5])[5].text
    documents = SharedManifest(reader).documents()  # the list every home reads
    assert [(d.title, d.passages, d.added_by) for d in documents] == [
        ("Doc 1", 40, "home1"), ("Doc 2", 40, "home2"),
    ]  # fmt: skip


def test_offline_mode_refuses_a_store_on_another_host(tmp_path: Path) -> None:
    remote = StoreLocation("s3://team/shared", "https://minio.example.org:9000", "eu-1", KEY_ID)
    message = store_refusal(remote, "Team docs", offline=True)
    assert message is not None
    assert "minio.example.org" in message and "offline mode" in message
    assert store_refusal(remote, "Team docs", offline=False) is None
    loopback = StoreLocation("s3://team/shared", "http://127.0.0.1:9000", "us-east-1", KEY_ID)
    assert store_refusal(loopback, "Team docs", offline=True) is None

    log = OutboundLog(tmp_path)
    log.record_store(remote, "Team docs", "open")
    log.record_store(loopback, "Team docs", "open")  # loopback is local: not outbound
    [entry] = log.entries()
    assert entry["host"] == "minio.example.org" and entry["location"] == "s3://team/shared"
    assert SECRET not in log.path.read_text(encoding="utf-8")


def test_cli_creates_a_workspace_on_the_bucket(
    s3_endpoint: str, anyllm_home: Path, child_env: dict[str, str]
) -> None:
    def anyllm(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_cli({**child_env, "TEAM_SECRET": SECRET}, *args, input=stdin)

    create = ["workspace", "create", "Team", "--location", "s3://team/shared", "--endpoint",
              s3_endpoint, "--region", "us-east-1", "--access-key-id", KEY_ID]  # fmt: skip
    made = anyllm(*create, "--secret-from-env", "TEAM_SECRET")
    assert made.returncode == 0, made.stderr
    shown = anyllm("workspace", "show", "Team")
    assert "Location: s3://team/shared via http://127.0.0.1" in shown.stdout
    assert "Location: s3://team/shared" in anyllm("workspace", "list").stdout
    kept = b"".join(p.read_bytes() for p in anyllm_home.rglob("*") if p.is_file())
    assert SECRET.encode() not in kept  # in the secret store, encrypted; never in plain text
    # Its passages go to the bucket; nothing of them is kept in this home.
    note = anyllm_home.parent / "note.txt"
    note.write_text("The shared notes say the team meets on Fridays.", encoding="utf-8")
    ingested = anyllm("ingest", "-w", "Team", str(note))
    assert ingested.returncode == 0, ingested.stderr
    assert not list((anyllm_home / "workspaces").rglob("*.lance"))
    found = json.loads(anyllm("search", "-w", "Team", "when does the team meet", "--json").stdout)
    assert "Fridays" in found["results"][0]["text"]

    nobody = f"http://127.0.0.1:{_free_port()}"  # no store listens there
    unreachable = [*create[:2], "Other", *create[3:5], "--endpoint", nobody, *create[7:]]
    refused = anyllm(*unreachable, stdin="a-secret\n")
    assert refused.returncode != 0 and "Could not reach s3://team/shared" in refused.stderr
    assert "Other" not in anyllm("workspace", "list").stdout  # nothing kept

    # Deleting it here leaves the team's copy: joining again finds the document.
    assert anyllm("workspace", "delete", "Team").returncode == 0
    joined = anyllm(*create, "--secret-from-env", "TEAM_SECRET")
    assert "Documents there already: 1" in joined.stdout, joined.stderr


def test_commits_are_conditional_writes(
    monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, tmp_path: Path
) -> None:
    """What makes two writers safe without a lock: every manifest is put with If-None-Match,
    and this server answers 412 to a put on an existing key (as AWS S3 does)."""
    import boto3

    monkeypatch.setenv("MOTO_ENABLE_RECORDING", "True")
    from moto import moto_api

    # The recorder reads its file's place once, at import: kept out of the working folder.
    monkeypatch.setattr(moto_api.recorder, "_location", str(tmp_path / "moto_recording"))
    recorder = f"{s3_endpoint}/moto-api/recorder"
    urllib.request.urlopen(urllib.request.Request(f"{recorder}/start-recording", b""))
    store = VectorStore.at(_location(s3_endpoint), SECRET)
    table = store.table("passages", model="test-embedder", dim=DIM)
    store.add(table, [PassageRow(1, 0, "text", "", "", None, "", 1, [1.0] * DIM)])
    urllib.request.urlopen(urllib.request.Request(f"{recorder}/stop-recording", b""))
    with urllib.request.urlopen(f"{recorder}/download-recording") as reply:
        requests = [json.loads(line) for line in reply.read().decode().splitlines()]
    manifests = [
        {k.lower(): v for k, v in r["headers"].items()}
        for r in requests
        if r["method"] == "PUT" and "/_versions/" in r["url"]
    ]
    assert manifests and all(h.get("if-none-match") == "*" for h in manifests)

    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
    )  # fmt: skip
    client.put_object(Bucket="team", Key="probe", Body=b"1")
    with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
        client.put_object(Bucket="team", Key="probe", Body=b"2", IfNoneMatch="*")


FILES = {
    "wifi.txt": "The office wifi password is changed every Monday by Dana Whitfield.",
    "parking.txt": "Parking permits for the team garage are renewed each March at the front desk.",
    "budget.txt": "The quarterly budget review happens on the second Thursday of January.",
}


def test_two_homes_share_one_workspace(
    s3_endpoint: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    """Two machines (two homes): each ingests while the other searches and answers; both see
    every document, and a document removed on one is gone on the other."""
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    def start(home: str, *args: str) -> subprocess.Popen[str]:
        env = {**child_env, "ANYLLM_HOME": str(tmp_path / home), "TEAM_SECRET": SECRET}
        command = [sys.executable, "-m", "anyllm_desktop.cli", *args]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    def done(*started: subprocess.Popen[str]) -> None:
        for process in started:
            _, err = process.communicate(timeout=180)
            assert process.returncode == 0, err

    def cli(home: str, *args: str) -> str:  # in this process, where only one runs at a time
        env = {**child_env, "ANYLLM_HOME": str(tmp_path / home), "TEAM_SECRET": SECRET}
        result = run_cli(env, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def listed(home: str) -> dict[str, str]:
        documents = json.loads(cli(home, "docs", "-w", "Team", "--json"))["documents"]
        return {d["document"]: d["status"] for d in documents}

    create = ["workspace", "create", "Team", "--location", "s3://team/shared", "--endpoint",
              s3_endpoint, "--region", "us-east-1", "--access-key-id", KEY_ID,
              "--secret-from-env", "TEAM_SECRET"]  # fmt: skip
    assert "Documents there already: 0" in cli("a", *create)
    cli("a", "ingest", "-w", "Team", str(tmp_path / "wifi.txt"))
    assert "Documents there already: 1" in cli("b", *create)

    # Both write at once (two processes) while b searches what a wrote.
    writers = [start("a", "ingest", "-w", "Team", str(tmp_path / "parking.txt")),
               start("b", "ingest", "-w", "Team", str(tmp_path / "budget.txt"))]  # fmt: skip
    found = cli("b", "search", "-w", "Team", "who changes the wifi password", "--json")
    done(*writers)
    assert json.loads(found)["results"][0]["document"] == "wifi"  # titled by the file's name
    everything = {Path(name).stem: "indexed" for name in FILES}
    assert listed("a") == everything and listed("b") == everything

    answer = json.loads(cli("b", "ask", "-w", "Team", "When are parking permits renewed?",
                            "--json"))  # fmt: skip
    assert answer["sources"][0]["document"] == "parking"  # a's document answers b

    library = Library(Runtime.open(tmp_path / "a"))
    wifi = next(d for d in library.documents("Team") if d.title == "wifi")
    assert isinstance(list(library.remove_document("Team", wifi.id))[-1], Done)
    library.close()
    assert "wifi" not in listed("b")
    searched = json.loads(cli("b", "search", "-w", "Team", "wifi password", "--json"))
    assert "wifi" not in {r["document"] for r in searched["results"]}

    # Re-indexed: the shared key of a document is its content's, the same for the version
    # read again (its old passages used to be deleted with the new ones, and b crashed).
    library = Library(Runtime.open(tmp_path / "a"))
    parking = next(d for d in library.documents("Team") if d.title == "parking")
    assert isinstance(list(library.remove_document("Team", parking.id))[-1], Done)
    library.close()
    cli("b", "workspace", "reindex", "Team")
    assert listed("b") == listed("a") == {"budget": "indexed"}
    for home in "ab":
        searched = json.loads(cli(home, "search", "-w", "Team", "budget review", "--json"))
        assert searched["results"][0]["document"] == "budget"
