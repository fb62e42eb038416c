"""Who answers in this workspace, chosen in the chat's header (local models and cloud
providers, switched without a restart), and, while it is the tiny embedded model, a better
model for this computer offered one click away (downloaded with the model manager; offline,
the offer says why it cannot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
)

from anyllm_desktop.ui.session import Session, SessionChange

if TYPE_CHECKING:
    from anyllm_desktop.workers.backend import Backend
    from anyllm_desktop.workers.models_and_providers import Recommendation

#: The chat model that ships with the app: an offer of a better one shows while it answers.
EMBEDDED_PREFIX = "embedded:"
#: The room the header's picker takes, in widths of an "x": a longer name is cut with "…" (the
#: list and the tooltip hold it whole), so the chat's title keeps the rest of the row.
SHOWN = 30


class ElidedComboBox(QComboBox):
    """A combo box that cuts its current text with "…" instead of clipping it mid-letter."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(SHOWN)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, field.width()
        )
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class ModelOffer(QFrame):
    """ "Answers come from a tiny model … [Download…] [Not now]"."""

    download_requested = Signal(str)  # the model's URL
    dismissed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ModelOffer")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.download_button = QPushButton("Download…")
        self.download_button.setAccessibleName("Download the suggested model")
        self.later_button = QPushButton("Not now")
        self.later_button.clicked.connect(self._dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.download_button)
        layout.addWidget(self.later_button)
        self._url = ""
        self.download_button.clicked.connect(lambda: self.download_requested.emit(self._url))
        self.hide()

    def offer(self, tiny_model: str, better: Recommendation, *, offline: bool) -> None:
        self._url = better.model.url
        text = (f"Answers come from {tiny_model}, a tiny model that often misstates what it "
                f"read. A better one for this computer: {better.describe()}.")  # fmt: skip
        if offline:
            text += " Offline mode is on, so downloads are off (Settings → Privacy)."
        self.label.setText(text)
        self.download_button.setEnabled(not offline)
        tip = "Turn offline mode off in Settings → Privacy to download" if offline else ""
        self.download_button.setToolTip(tip or better.model.url)
        self.show()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class ModelPicker(QObject):
    """Keeps the header's picker on the shown workspace's choice and saves a new one."""

    def __init__(self, backend: Backend, session: Session, combo: QComboBox, offer: ModelOffer,
                 open_download: Callable[[str], object]) -> None:  # fmt: skip
        super().__init__(combo)
        self.backend = backend
        self.session = session
        self.combo = combo
        self.offer = offer
        self.dismissed = False
        self._filling = False
        session.observe(self._on_session)
        combo.activated.connect(self._chosen)
        offer.dismissed.connect(lambda: setattr(self, "dismissed", True))
        offer.download_requested.connect(open_download)

    def _on_session(self, change: SessionChange) -> None:
        if change.workspace_changed:
            self.refresh()

    def refresh(self) -> None:
        """The choices as they are now (a model downloaded or a provider added since)."""
        workspace = self.session.workspace
        self.combo.setEnabled(workspace is not None and self.backend.is_ready)
        if workspace is None or not self.backend.is_ready:
            self.offer.hide()
            return
        chat = self.backend.workspace(workspace).chat
        self._filling = True
        self.combo.clear()
        current = 0
        choices = self.backend.model_choices() + self.backend.adapter_choices()
        for index, choice in enumerate(choices):
            self.combo.addItem(choice.label, (choice.provider, choice.model))
            self.combo.setItemData(index, choice.label, Qt.ItemDataRole.ToolTipRole)
            if (choice.provider, choice.model) == (chat.provider, chat.model):
                current = index
        self.combo.setCurrentIndex(current)
        self._tell(current)
        self._filling = False
        self._show_offer(workspace)

    def _chosen(self, index: int) -> None:
        workspace = self.session.workspace
        if self._filling or workspace is None or index < 0:
            return
        provider, model = self.combo.itemData(index)
        self.backend.update_chat_settings(workspace, provider=provider, model=model)
        self._tell(index)
        self._show_offer(workspace)

    def _tell(self, index: int) -> None:
        """The picker's tooltip names who answers, whole (the picker may cut the name)."""
        self.combo.setToolTip(f"Answering in this workspace: {self.combo.itemText(index)}")

    def use(self, model_id: str) -> None:
        """Answer with the local model ``model_id`` in the shown workspace (a download the
        offer started)."""
        if self.session.workspace is not None:
            self.backend.update_chat_settings(self.session.workspace, provider="local",
                                              model=model_id)  # fmt: skip
            self.refresh()

    def _show_offer(self, workspace: str) -> None:
        provider, model = self.backend.answering_model(workspace)
        tiny = provider == "local" and model.startswith(EMBEDDED_PREFIX)
        better = self.backend.recommendation() if tiny and not self.dismissed else None
        if better is None:
            self.offer.hide()
            return
        self.offer.offer(self.backend.runtime.chat_model_name(model), better,
                         offline=self.backend.runtime.settings.offline_mode)  # fmt: skip
