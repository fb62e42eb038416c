"""Whether the library's two stores still belong together, and what to do when they do not.

The library is two stores: ``library.sqlite3`` (workspaces, documents, chats) and the LanceDB
folder (passages). When the database was lost, emptied or swapped, the app used to start "with no
workspaces yet" on top of the old indexes. Now the database carries a library uid that is also
written beside the LanceDB folder (``workspaces/library.json``); when they disagree the library
is not opened, and the message says what happened and offers two ways out: put back the copy of
the database kept at the last start (``library.sqlite3.bak``), or start over with the old
indexes set aside (nothing is deleted).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Sized
from pathlib import Path

from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.store.records import Records
from anyllm_desktop.store.vectors import VectorStore

_UID_TABLE = re.compile(r"^ws_([0-9a-f]{32})_v\d+$")


class LibraryProblem(Exception):
    """The library cannot be opened as it is; the message says why and what to do."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        #: "damaged" (the database cannot be read) or "mismatch" (it is not this library's).
        self.kind = kind


def database_file(paths: AppPaths) -> Path:
    return paths.home / "library.sqlite3"


def backup_file(paths: AppPaths) -> Path:
    return paths.home / "library.sqlite3.bak"


def _marker(paths: AppPaths) -> Path:
    return paths.workspaces_dir / "library.json"


def vector_folder(paths: AppPaths) -> Path:
    return paths.workspaces_dir / "lancedb"


def _read_marker(paths: AppPaths) -> str | None:
    try:
        return str(json.loads(_marker(paths).read_text(encoding="utf-8"))["library_uid"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # unreadable: disagrees with every database


def _write_marker(paths: AppPaths, uid: str) -> None:
    marker = _marker(paths)
    marker.parent.mkdir(parents=True, exist_ok=True)
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(json.dumps({"library_uid": uid}) + "\n", encoding="utf-8")
    temporary.replace(marker)


def _count(items: Sized, one: str, many: str = "") -> str:
    number = len(items)
    return f"{number} {one if number == 1 else many or one + 's'}"


def _when(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _ways_out(paths: AppPaths) -> str:
    backup = backup_file(paths)
    restore = (
        f"`anyllm library restore` puts back the copy from {_when(backup)} ({backup.name}), or "
        if backup.exists()
        else ""
    )
    return (
        f"{restore}`anyllm library start-over` starts an empty library and sets the old indexes "
        "aside (nothing is deleted). The desktop app offers the same choices."
    )


def damaged(paths: AppPaths, reason: object) -> LibraryProblem:
    database = database_file(paths)
    return LibraryProblem(
        f"The library database {database} cannot be read ({reason}): it is damaged. Your "
        f"documents' files are not affected. {_ways_out(paths)}",
        "damaged",
    )


def table_uid(table: str) -> str | None:
    """The workspace uid a table name carries (None for tables named before uids)."""
    match = _UID_TABLE.match(table)
    return match.group(1) if match else None


def foreign_tables(records: Records, vectors: VectorStore) -> set[str]:
    """Tables that belong to no workspace of this database (not even an older version of one
    being re-embedded)."""
    known_uids = {w.uid for w in records.workspaces()}
    used = records.vector_tables()
    return {t for t in vectors.table_names() if t not in used and table_uid(t) not in known_uids}


def check_library(paths: AppPaths, records: Records, vectors: VectorStore) -> list[str]:
    """Raise LibraryProblem when the database is damaged or is not the one the indexes belong
    to; warnings for the user otherwise (indexes of no workspace)."""
    try:
        uid = records.library_uid()
        foreign = foreign_tables(records, vectors)
        has_workspaces = bool(records.vector_tables())
    except sqlite3.OperationalError:
        raise  # locked, the disk: not damage
    except sqlite3.DatabaseError as exc:
        raise damaged(paths, exc) from exc
    marker = _read_marker(paths)
    if (marker is None and foreign and not has_workspaces) or (marker and marker != uid):
        raise LibraryProblem(
            f"The library database {database_file(paths)} does not belong to the indexes in "
            f"{vector_folder(paths)}: it was lost, emptied or replaced (they hold the passages "
            f"of {_count(foreign, 'workspace')} that it does not list). Nothing was changed. "
            f"{_ways_out(paths)}",
            "mismatch",
        )
    if marker != uid:
        _write_marker(paths, uid)  # the first start of a library, or of this version
    if not foreign:
        return []
    return [
        f"{_count(foreign, 'index', 'indexes')} in {vector_folder(paths)} belong to no "
        "workspace (left from a database that was replaced). `anyllm library start-over "
        "--keep-workspaces` sets them aside."
    ]


def back_up(paths: AppPaths) -> None:
    """Copy the database to ``library.sqlite3.bak`` when it changed since the last copy (at
    open and at close), after a quick integrity check: a damaged database never replaces a good
    copy. A failure (a full disk) only skips the copy."""
    database, backup = database_file(paths), backup_file(paths)
    partial = backup.with_name(backup.name + ".partial")
    try:
        if copy_is_current(paths):
            return
        source = sqlite3.connect(database, timeout=5)
        try:
            if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
            partial.replace(backup)
        finally:
            source.close()
    except (OSError, sqlite3.Error):
        partial.unlink(missing_ok=True)


def copy_is_current(paths: AppPaths) -> bool:
    """Whether the database's copy was made after its last change. An empty WAL is no change
    (every connection that opens makes one): the copy at the next open is skipped then."""
    database, copy = database_file(paths), backup_file(paths)
    wal = database.with_name(database.name + "-wal")
    try:
        made, changed = copy.stat().st_mtime, database.stat().st_mtime
        if wal.exists() and (written := wal.stat()).st_size:
            changed = max(changed, written.st_mtime)
    except OSError:  # no copy yet, or the WAL went meanwhile: copy
        return False
    return made >= changed


def _set_aside(database: Path, stamp: str) -> Path | None:
    """Move the database (and its WAL files) out of the way; where it went."""
    if not database.exists():
        return None
    target = database.with_name(f"{database.name}.replaced-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = database.with_name(database.name + suffix)
        if part.exists():
            part.replace(target.with_name(target.name + suffix))
    return target


def restore_backup(paths: AppPaths) -> str:
    """Put the copy of the database back (the current one is kept aside); what was done."""
    database, backup = database_file(paths), backup_file(paths)
    if not backup.exists():
        raise LibraryProblem(f"There is no copy of the library database ({backup}).", "missing")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = _set_aside(database, stamp)
    shutil.copy2(backup, database)
    records = Records(database)
    vectors = VectorStore(vector_folder(paths))
    try:
        _write_marker(paths, records.library_uid())
        _skip_used_document_ids(records, vectors)
        foreign = foreign_tables(records, vectors)
    finally:
        records.close()
    done = f"Restored {database.name} from the copy of {_when(backup)}."
    if kept is not None:
        done += f" The one it replaced is kept as {kept.name}."
    if foreign:
        done += (f" {_count(foreign, 'index', 'indexes')} of workspaces created after that "
                 "copy are not in it; "
                 "`anyllm library start-over --keep-workspaces` sets them aside.")  # fmt: skip
    return done


def _skip_used_document_ids(records: Records, vectors: VectorStore) -> None:
    """After a restore, document ids continue above every id a table holds passages of, so
    passages of documents added after the copy never show under a new document's name."""
    highest = 0
    for name in vectors.table_names():
        counts = vectors.passages_per_document(vectors.open_existing(name))
        highest = max(highest, *counts, 0)
    records.skip_document_ids_to(highest)


def start_over(paths: AppPaths, *, keep_workspaces: bool = False) -> str:
    """Set the indexes of no workspace aside (and, unless ``keep_workspaces``, the database
    too, for an empty library); what was done."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    database = database_file(paths)
    kept = None if keep_workspaces else _set_aside(database, stamp)
    records = Records(database)
    vectors = VectorStore(vector_folder(paths))
    try:
        uid = records.library_uid()
        foreign = sorted(foreign_tables(records, vectors))
    except sqlite3.DatabaseError as exc:
        records.close()
        raise damaged(paths, exc) from exc
    aside = paths.workspaces_dir / f"set-aside-{stamp}"
    for name in foreign:
        vectors.forget(name)
        aside.mkdir(parents=True, exist_ok=True)
        (vector_folder(paths) / f"{name}.lance").replace(aside / f"{name}.lance")
    _skip_used_document_ids(records, vectors)
    records.close()
    _write_marker(paths, uid)
    done = "Started an empty library." if kept is not None else "Kept the current workspaces."
    if kept is not None:
        done += f" The old database is kept as {kept.name}."
    if foreign:
        done += f" {_count(foreign, 'old index', 'old indexes')} moved to {aside}."
    return done
