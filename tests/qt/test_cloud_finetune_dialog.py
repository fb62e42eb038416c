"""The cloud fine-tuning dialog in the real window against a real loopback server replaying the
OpenAI fine-tuning API: the providers that can fine-tune are offered; the agreement names the
host and how many examples leave the machine, and declined nothing is sent; agreed, the examples
are uploaded, the provider's events are shown as progress, the fine-tuned model's id appears and
"Use in this workspace" makes the workspace answer with it; cancel cancels it on the provider;
a job started before is followed again, and the provider's reason for its failure is shown."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from anyllm_desktop.services import cloud_finetune
from anyllm_desktop.store import secrets
from anyllm_desktop.store.cloud_finetunes import CloudFinetunes
from anyllm_desktop.ui.cloud_finetune_dialog import CloudFinetuneDialog
from tests.e2e.test_cloud_finetune import BASE, KEY, TUNED, _events, _json, _started
from tests.qt.helpers import ready_window
from tests.replay_server import Replay


def test_agree_upload_follow_use_and_resume(
    qtbot: QtBot, anyllm_home: Path, server: Replay, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(secrets, "_system_keyring", lambda: None)  # never a real keyring
    monkeypatch.setattr(cloud_finetune, "POLL_S", 0.05)
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    backend.save_settings(replace(backend.runtime.settings, offline_mode=False))
    backend.save_provider("replay", "openai", f"{server.url}/v1", "gpt-test", KEY)
    backend.save_provider("claude", "anthropic", "", "claude-x", KEY)  # no fine-tuning API
    backend.create_workspace("W")
    data = tmp_path / "faq.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"What is fact {n}?"},
                          {"role": "assistant", "content": f"Fact {n} is true."}]}
            for n in range(10)]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    dialog = CloudFinetuneDialog(backend, "W", window)
    qtbot.addWidget(dialog)
    assert [dialog.provider_combo.itemText(i) for i in range(dialog.provider_combo.count())] == [
        "replay"
    ]
    assert dialog.base_combo.currentText() == "gpt-test"
    assert not dialog.start_button.isEnabled()  # no examples chosen yet
    dialog.use_file(data)
    dialog.base_combo.setEditText(BASE)
    assert dialog.start_button.isEnabled() and not dialog.follow_button.isEnabled()

    asked: list[str] = []
    answer = QMessageBox.StandardButton.No

    def question(_parent: object, _title: str, text: str, *_a: object) -> object:
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "cloud.test" in asked[0] and "9 training examples and 1 validation" in asked[0]
    assert "--send-to-cloud" not in asked[0]
    assert dialog.state.text() == "Nothing was sent." and server.requests == []

    answer = QMessageBox.StandardButton.Yes
    server.replies = [
        *_started(),
        _json({"id": "ftjob-42", "status": "running"}),
        _events("Validating training file", "Step 4/8: training loss=0.91"),
        _json(
            {
                "id": "ftjob-42",
                "status": "succeeded",
                "fine_tuned_model": TUNED,
                "trained_tokens": 321,
            }
        ),
        _events("Validating training file", "Step 4/8: training loss=0.91", "Step 8/8: done"),
    ]
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.runner.job is not None and dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.runner.ended, timeout=60_000) as ended:
        pass
    assert ended.args[0].state == "done", dialog.state.text()
    log = dialog.log.toPlainText().splitlines()
    assert [line for line in log if line.startswith("replay: ")] == [
        "replay: Validating training file", "replay: Step 4/8: training loss=0.91",
        "replay: Step 8/8: done",
    ]  # fmt: skip
    assert (dialog.progress.maximum(), dialog.progress.value()) == (1, 1)
    assert dialog.model_edit.text() == TUNED and "321 trained tokens" in dialog.state.text()
    uploads = [r for r in server.requests if r["path"] == "/v1/files"]
    assert len(uploads) == 2 and str(uploads[0]["body"]).count('{"messages"') == 9

    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    chat = backend.workspace("W").chat
    assert (chat.provider, chat.model) == ("replay", TUNED)
    assert ("replay", TUNED) in {(c.provider, c.model) for c in backend.model_choices()}

    # Cancelled while the provider runs it: the provider is asked to cancel it.
    server.replies = [_json({"id": "file-t"}), _json({"id": "file-v"}),
                      _json({"id": "ftjob-43", "status": "queued"})]  # fmt: skip
    server.respond = lambda path, _body: (
        _events() if path.endswith("/events") else _json({"id": "ftjob-43", "status": "running"})
    )
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "started the fine-tuning job ftjob-43" in dialog.log.toPlainText(),
                    timeout=60_000)  # fmt: skip
    with qtbot.waitSignal(dialog.runner.ended, timeout=60_000) as ended:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].state == "cancelled"
    assert (server.requests[-1]["method"], server.requests[-1]["path"]) == (
        "POST", "/v1/fine_tuning/jobs/ftjob-43/cancel"
    )  # fmt: skip
    assert dialog.state.text() == "Cancelled: the provider was asked to stop the job."
    server.respond = None

    # A job a closed window started: followed again; the provider failed it meanwhile.
    kept = CloudFinetunes(anyllm_home / "library.sqlite3")
    kept.started("replay", "ftjob-77", BASE, "running")
    kept.close()
    dialog.close()
    again = CloudFinetuneDialog(backend, "W", window)
    qtbot.addWidget(again)
    assert again.follow_button.isEnabled()
    sent = len(server.requests)
    server.replies = [
        _json(
            {
                "id": "ftjob-77",
                "status": "failed",
                "error": {"message": "Quota exceeded for fine-tuning."},
            }
        ),
        _events(),
    ]
    qtbot.mouseClick(again.follow_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(again.runner.ended, timeout=60_000):
        pass
    assert again.state.text() == (
        "The fine-tuning job ftjob-77 on replay ended failed: Quota exceeded for fine-tuning."
    )
    assert [r["path"] for r in server.requests[sent:]] == [
        "/v1/fine_tuning/jobs/ftjob-77", "/v1/fine_tuning/jobs/ftjob-77/events"
    ]  # fmt: skip
    assert not again.follow_button.isEnabled() and again.model_edit.text() == ""
    again.close()
    again.close()

    # The Tools menu opens it for the shown workspace.
    action = next(a for menu in window.menuBar().findChildren(QMenu) for a in menu.actions()
                  if a.text() == "Fine-tune in the cloud…")  # fmt: skip
    action.trigger()
    opened = [d for d in window.findChildren(CloudFinetuneDialog) if d.isVisible()]
    assert len(opened) == 1 and opened[0].workspace == window.session.workspace
    opened[0].close()
