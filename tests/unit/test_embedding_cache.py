"""The embedding cache: one SQLite connection per thread (a search reads while an ingest writes),
and a damaged file set aside and rebuilt."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from anyllm_desktop.store.embedding_cache import EmbeddingCache


def test_each_thread_has_its_own_connection_and_sees_the_others_writes(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    connections: dict[str, object] = {}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            connections[name] = cache._connection()
            for round_ in range(30):
                texts = [f"{name} text {round_} {i}" for i in range(20)]
                cache.put_many("m", texts, np.full((20, 4), round_, dtype=np.float32))
                assert all(v is not None for v in cache.get_many("m", texts))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({id(c) for c in connections.values()}) == 3
    found = cache.get_many("m", ["t0 text 29 0", "t2 text 5 19", "never stored"])
    assert found[0] is not None and float(found[0][0]) == 29.0 and found[2] is None
    cache.close()


def test_a_damaged_cache_file_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"\x00 not sqlite " * 500)
    cache = EmbeddingCache(path)
    assert "was damaged" in cache.rebuilt
    cache.put_many("m", ["a"], np.ones((1, 4), dtype=np.float32))
    assert cache.get_many("m", ["a"])[0] is not None
    assert list(tmp_path.glob("cache.sqlite3.damaged-*"))
    cache.close()
