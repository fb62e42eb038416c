"""Drive the real app on the current display and save the README's screenshots.

    bash packaging/screenshots.sh [OUT_DIR]     (starts Xvfb and runs this)

The window is used as a person would: files are dropped on it (a real QDropEvent), a question
is typed into the composer and sent with Enter, a citation is opened.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def wait_until(condition: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        QApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def save(widget: QWidget, path: Path) -> None:
    settle()
    widget.grab().save(str(path))
    print(f"saved {path}")


def drop(window: QWidget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = window.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(
        window, QDragEnterEvent(QPoint(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    )
    QApplication.sendEvent(
        window, QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    )


def main(out: Path) -> None:
    from anyllm_desktop.core.offline import apply_offline_environment

    apply_offline_environment()
    from anyllm_desktop.services.runtime import Runtime
    from anyllm_desktop.ui.main_window import MainWindow

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as home:
        window = MainWindow(Runtime.open(home))
        window.resize(1280, 800)
        window.show()
        window.start_warm_up()
        wait_until(lambda: window.backend.is_ready)
        broken = Path(home) / "scan-without-text.pdf"
        broken.write_bytes(b"%PDF-1.4\n% damaged in transit\n" + bytes(2048))
        drop(window, [DATA / "debian-faq-archives.html", DATA / "reportlab-userguide.pdf",
                      DATA / "officer-example.docx", broken])  # fmt: skip
        wait_until(lambda: window.documents.tree.topLevelItemCount() >= 2)
        save(window, out / "drop-progress.png")
        wait_until(lambda: window.backend.ingest_worker is None)
        # The bundled 135M model rambles at higher temperatures; answer tersely.
        window.backend.update_chat_settings(window.session.workspace, temperature=0.0,
                                            max_answer_tokens=160)  # fmt: skip
        editor = window.composer.editor
        editor.setPlainText("What is the codename of the unstable distribution?")
        QApplication.sendEvent(
            editor,
            QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
        )
        wait_until(lambda: window.answers.worker is None)
        save(window, out / "main-window.png")
        editor.setPlainText("How do I draw a string on a canvas with ReportLab?")
        QApplication.sendEvent(
            editor,
            QKeyEvent(QKeyEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier),
        )
        wait_until(lambda: window.answers.worker is None)
        # The user clicks the first quoted sentence from a PDF: its page opens with it marked.
        quotes = [
            (m, i)
            for m in window.chat_view.messages
            for i, e in enumerate(m.evidence)
            if e["path"].endswith(".pdf")
        ]
        if quotes:
            message, i = quotes[0]
            message.evidence_label.linkActivated.emit(f"evidence:{i}")
            dialogs = window.findChildren(
                QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
            )
            passage = next(w for w in dialogs if w.isWindow() and w.isVisible())
            wait_until(lambda: getattr(passage, "worker", None) is None, 30)
            save(passage, out / "passage.png")
            passage.close()
        settings = window.open_settings()
        if settings is not None:
            save(settings, out / "settings.png")
            settings.reject()
        manager = window.open_model_manager()
        if manager is not None:
            save(manager, out / "model-manager.png")
            manager.reject()
        window.apply_appearance("dark", window.runtime.settings.font_size)
        save(window, out / "dark-mode.png")
        window.close()
    app.quit()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "resources" / "screenshots")
