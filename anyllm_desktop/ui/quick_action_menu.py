"""The "Quick action" entries of a context menu (the chat, a passage, a document)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu

from anyllm_desktop.workers.quick_actions import QUICK_ACTIONS


def add_quick_actions(menu: QMenu, chosen: Callable[[str], object],
                      title: str = "Quick action") -> QMenu:  # fmt: skip
    """A submenu of ``menu``: Summarize, Key points, Translate to…, Sentiment, Classify…,
    Extract fields…; ``chosen(action id)``."""
    sub = menu.addMenu(title)
    sub.setObjectName("QuickActionMenu")
    for action in QUICK_ACTIONS:
        sub.addAction(action.label, lambda a=action.id: chosen(a))
    return sub
