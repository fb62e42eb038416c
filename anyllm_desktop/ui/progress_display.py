"""A long operation's progress as every view shows it: the bar, and the message with the time
left."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar

from anyllm_desktop.core.events import Progress


def show_progress(bar: QProgressBar, label: QLabel, event: Progress) -> None:
    """``event`` on ``bar`` (busy while its total is not known yet) and ``label``."""
    bar.setRange(0, max(event.total, 0))
    bar.setValue(event.done)
    eta = f" · about {event.eta_s:.0f} s left" if event.eta_s else ""
    label.setText(f"{event.message}{eta}")
