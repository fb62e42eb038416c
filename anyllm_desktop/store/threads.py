"""Threads and messages in SQLite (the same database as workspaces and documents)."""

from __future__ import annotations

import json
import sqlite3
import time
from itertools import pairwise
from typing import Any

from anyllm_desktop.core.conversation import Message, Passage, ThreadInfo
from anyllm_desktop.store.database import SQLiteStore


class ThreadNotFoundError(KeyError):
    def __str__(self) -> str:
        return f"no thread with id {self.args[0]}"


def _thread(row: sqlite3.Row) -> ThreadInfo:
    return ThreadInfo(
        row["id"],
        row["workspace_id"],
        row["title"],
        row["system_prompt"],
        row["created_at"],
        row["updated_at"],
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        thread_id=row["thread_id"],
        role=row["role"],
        content=row["content"],
        created_at=row["created_at"],
        sent_content=row["sent_content"],
        sources=[Passage.from_dict(p) for p in json.loads(row["sources"])],
        citations=json.loads(row["citations"]),
        provider=row["provider"],
        model=row["model"],
        stopped=bool(row["stopped"]),
        error=row["error"],
        timings=json.loads(row["timings"]),
        evidence=json.loads(row["evidence"]),
        unsupported=json.loads(row["unsupported"]),
        generated=row["generated"],
        superseded=bool(row["superseded"]),
        rating=row["rating"],
        correction=row["correction"],
    )


class Threads(SQLiteStore):
    def create(self, workspace_id: int, title: str) -> ThreadInfo:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO threads (workspace_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (workspace_id, title.strip() or "New thread", now, now),
        )
        assert cursor.lastrowid is not None
        return self.get(cursor.lastrowid)

    def get(self, thread_id: int) -> ThreadInfo:
        row = self._db.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise ThreadNotFoundError(thread_id)
        return _thread(row)

    def of_workspace(self, workspace_id: int) -> list[ThreadInfo]:
        rows = self._db.execute(
            "SELECT * FROM threads WHERE workspace_id = ? ORDER BY updated_at DESC, id DESC",
            (workspace_id,),
        )
        return [_thread(r) for r in rows]

    def message_counts(self, workspace_id: int) -> dict[int, int]:
        rows = self._db.execute(
            "SELECT t.id, COUNT(m.id) FROM threads t LEFT JOIN messages m ON m.thread_id = t.id "
            "WHERE t.workspace_id = ? GROUP BY t.id",
            (workspace_id,),
        )
        return {thread_id: count for thread_id, count in rows}

    def rename(self, thread_id: int, title: str) -> ThreadInfo:
        title = " ".join(title.split())
        if not title:
            raise ValueError("a thread needs a title")
        self.get(thread_id)
        self._db.execute("UPDATE threads SET title = ? WHERE id = ?", (title, thread_id))
        return self.get(thread_id)

    def set_system_prompt(self, thread_id: int, system_prompt: str) -> None:
        self._db.execute(
            "UPDATE threads SET system_prompt = ? WHERE id = ?", (system_prompt, thread_id)
        )

    def delete(self, thread_id: int) -> None:
        self.get(thread_id)
        self._db.execute("DELETE FROM threads WHERE id = ?", (thread_id,))

    def messages(self, thread_id: int, *, superseded: bool = False) -> list[Message]:
        """The chat's messages in order; with ``superseded``, also the earlier versions."""
        rows = self._db.execute(
            "SELECT * FROM messages WHERE thread_id = ? AND (? OR superseded = 0) ORDER BY id",
            (thread_id, int(superseded)),
        )
        return [_message(r) for r in rows]

    def set_superseded(self, message_ids: list[int], superseded: bool = True) -> None:
        """Keep messages as an earlier version (Regenerate), or show them again."""
        self._db.executemany(
            "UPDATE messages SET superseded = ? WHERE id = ?",
            [(int(superseded), m) for m in message_ids],
        )

    def versions(self, thread_id: int) -> list[Message]:
        """The answers to the chat's last question, earliest first, the one shown included:
        each Regenerate adds one (an answer is a version while its question reads the same)."""
        pairs = [(q, a) for q, a in pairwise(self.messages(thread_id, superseded=True))
                 if q.role == "user" and a.role == "assistant"]  # fmt: skip
        if not pairs:
            return []
        last, versions, shown = pairs[-1][0].content, [], False
        for question, answer in reversed(pairs):
            if question.content != last or (shown and not question.superseded):
                break
            shown = shown or not question.superseded
            versions.append(answer)
        return versions[::-1]

    def choose_version(self, thread_id: int, answer_id: int) -> None:
        """Show ``answer_id`` (one of :meth:`versions`) as the answer; the others are kept."""
        versions = self.versions(thread_id)
        if answer_id not in {v.id for v in versions}:
            raise ValueError(f"message {answer_id} is not an answer to the last question")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for answer in versions:  # each version is its question and its answer
                hidden = int(answer.id != answer_id)
                self._db.execute(
                    "UPDATE messages SET superseded = ? WHERE thread_id = ? AND id IN (?, ?)",
                    (hidden, thread_id, answer.id, self._question_of(answer.id)),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _question_of(self, answer_id: int) -> int:
        row = self._db.execute(
            "SELECT MAX(id) FROM messages WHERE id < ? AND role = 'user' AND thread_id = "
            "(SELECT thread_id FROM messages WHERE id = ?)",
            (answer_id, answer_id),
        ).fetchone()
        return int(row[0])

    def add_message(
        self,
        thread_id: int,
        role: str,
        content: str,
        *,
        sent_content: str | None = None,
        sources: list[Passage] | None = None,
        citations: list[dict[str, Any]] | None = None,
        provider: str | None = None,
        model: str | None = None,
        stopped: bool = False,
        error: str | None = None,
        timings: dict[str, Any] | None = None,
        evidence: list[dict[str, Any]] | None = None,
        unsupported: list[dict[str, Any]] | None = None,
        generated: str | None = None,
    ) -> Message:
        now = time.time()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT INTO messages (thread_id, role, content, sent_content, sources, "
                "citations, provider, model, stopped, error, timings, evidence, unsupported, "
                "generated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    thread_id,
                    role,
                    content,
                    sent_content,
                    json.dumps([p.to_dict() for p in sources or []]),
                    json.dumps(citations or []),
                    provider,
                    model,
                    int(stopped),
                    error,
                    json.dumps(timings or {}),
                    json.dumps(evidence or []),
                    json.dumps(unsupported or []),
                    generated,
                    now,
                ),
            )
            self._db.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now, thread_id))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        row = self._db.execute("SELECT * FROM messages WHERE id = ?", (cursor.lastrowid,))
        return _message(row.fetchone())

    def rate(self, message_id: int, rating: int, correction: str | None = None) -> Message:
        """Keep the user's verdict on an answer (1 good, -1 bad, 0 none) and their corrected
        text (None: none; a correction of an answer rated 0 rates it good)."""
        if rating not in (-1, 0, 1):
            raise ValueError(f"a rating is 1, -1 or 0, not {rating!r}")
        correction = correction.strip() or None if correction is not None else None
        if correction is not None and rating == 0:
            rating = 1
        updated = self._db.execute(
            "UPDATE messages SET rating = ?, correction = ? WHERE id = ? AND role = 'assistant'",
            (rating, correction, message_id),
        )
        if updated.rowcount != 1:
            raise ValueError(f"message {message_id} is not an answer")
        row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message(row)

    def rated(self, workspace_id: int) -> list[tuple[ThreadInfo, Message, Message]]:
        """(thread, question, answer) for each answer rated good or corrected in the
        workspace's chats, oldest first: what a training set is built from."""
        rows = self._db.execute(
            "SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id WHERE "
            "t.workspace_id = ? AND m.role = 'assistant' AND (m.rating = 1 OR m.correction "
            "IS NOT NULL) ORDER BY m.id",
            (workspace_id,),
        )
        out = []
        for answer in [_message(r) for r in rows]:
            question = self._db.execute(
                "SELECT * FROM messages WHERE thread_id = ? AND id < ? AND role = 'user' "
                "ORDER BY id DESC LIMIT 1",
                (answer.thread_id, answer.id),
            ).fetchone()
            if question is not None:
                out.append((self.get(answer.thread_id), _message(question), answer))
        return out

    def truncate_from(self, thread_id: int, message_id: int) -> None:
        """Delete a message and everything after it (edit-and-resend, regenerate)."""
        self._db.execute(
            "DELETE FROM messages WHERE thread_id = ? AND id >= ?", (thread_id, message_id)
        )
