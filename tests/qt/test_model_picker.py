"""Who answers, chosen in the chat header per workspace and switched without a restart; the
better model offered while the tiny embedded one answers (real window, real models)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from anyllm_desktop.models.embedded import find_embedded
from anyllm_desktop.ui.model_picker import SHOWN
from tests.qt.helpers import ready_window

TINY = "embedded:smollm2-135m-instruct-q4_1"


def test_the_offer_shows_with_the_tiny_model_and_says_why_it_cannot_download_offline(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    window = ready_window(qtbot, anyllm_home)
    window.backend.create_workspace("Notes")
    window.navigator.select_workspace("Notes")
    picker = window.conversation.model_picker
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert labels[0].startswith("SmolLM2 135M") and labels[0].endswith("· app default")
    assert picker.isEnabled()
    # The picker keeps its room (a longer name is cut with "…", the chat's title has the rest);
    # its tooltip and every choice's hold the name whole.
    assert picker.minimumContentsLength() == SHOWN
    assert picker.toolTip() == f"Answering in this workspace: {labels[0]}"
    assert picker.itemData(0, Qt.ItemDataRole.ToolTipRole) == labels[0]
    offer = window.conversation.model_offer
    better = window.backend.recommendation()
    if better is None:  # a machine too small for any suggestion: nothing to offer
        assert offer.isHidden()
    else:
        assert not offer.isHidden() and better.model.name in offer.label.text()
        assert "tokens/s" in offer.label.text() and "MB download" in offer.label.text()
        assert "Offline mode is on" in offer.label.text()  # offline is the default
        assert not offer.download_button.isEnabled()
        offer.later_button.click()
        assert offer.isHidden()
    window.close()


def test_a_workspace_answers_with_its_own_model_switched_without_restart(
    qtbot: QtBot, anyllm_home: Path
) -> None:
    """The embedded model linked in as a second local model (any GGUF would do): choosing it
    in one workspace makes the host load it for that workspace's answers."""
    window = ready_window(qtbot, anyllm_home)
    backend = window.backend
    jobs = backend.jobs
    assert jobs is not None
    qtbot.waitUntil(lambda: not jobs.active(), timeout=120_000)  # the start-up model load
    second = anyllm_home / "models" / "second-model.gguf"
    second.parent.mkdir(exist_ok=True)
    second.symlink_to(find_embedded(TINY).files[0].path)
    backend.create_workspace("Own model")
    window.navigator.select_workspace("Own model")
    window.model_picker.refresh()
    picker = window.conversation.model_picker
    data = [tuple(picker.itemData(i)) for i in range(picker.count())]
    index = data.index(("local", str(second)))
    picker.setCurrentIndex(index)
    picker.activated.emit(index)
    chat = backend.workspace("Own model").chat
    assert (chat.provider, chat.model) == ("local", str(second))
    assert window.conversation.model_offer.isHidden()  # not the tiny embedded model now
    window.answers.ask("Hello?")
    qtbot.waitUntil(lambda: window.answers.worker is None, timeout=240_000)
    assert backend.served_model == str(second)
    assert window.status.model_label.text() == f"Model: {backend.model_name} (local)"
    answer = window.chat_view.messages[-1]
    assert answer.role == "assistant" and answer.text.strip()
    window.close()
