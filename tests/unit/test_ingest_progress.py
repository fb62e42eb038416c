"""Ingest progress counts passages (the work), not files: 'Embedding 104/346 passages · 5/6
files · 0 passages (0/s) · about 0 s left' with a bar of files was what a user saw."""

from __future__ import annotations

from anyllm_desktop.services.ingest_progress import CHARACTERS_PER_TOKEN, IngestProgress


def test_the_expected_passages_follow_what_was_chunked() -> None:
    progress = IngestProgress(chunk_tokens=100)
    progress.bytes_total = 40_000
    assert progress.expected() == 40_000 // (CHARACTERS_PER_TOKEN * 100)  # a first guess
    progress.chunked(30, size=10_000)  # the first file: 30 passages from 10 kB
    assert progress.expected() == 30 + 90  # 30 kB left at that rate


def test_passages_being_embedded_count_and_the_text_says_which_file() -> None:
    progress = IngestProgress(chunk_tokens=100)
    progress.bytes_total = 20_000
    progress.chunked(50, size=10_000)
    event = progress.event("embed", 1, 2, "Embedding passages", embedded_now=20)
    assert (event.done, event.total) == (20, 100)
    assert event.message.startswith("Embedding passages · file 1 of 2 · 20 of ~100 passages")
    progress.passages_done = 50
    later = progress.event("read", 2, 2, "Reading b.txt")
    assert later.done == 50 and later.total == 100
    first = IngestProgress(chunk_tokens=100).event("read", 1, 3, "Reading a.txt")
    assert first.message == "Reading a.txt · file 1 of 3" and first.eta_s is None
