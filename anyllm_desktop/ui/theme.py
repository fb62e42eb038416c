"""Light, dark or the system's look, and the font size, applied without a restart."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

_DARK = {
    QPalette.ColorRole.Window: "#1f2126",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#16181c",
    QPalette.ColorRole.AlternateBase: "#2a2d33",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#2a2d33",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.Highlight: "#3d6fb6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#7fb2ff",
    QPalette.ColorRole.ToolTipBase: "#2a2d33",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.PlaceholderText: "#8a8f98",
    QPalette.ColorRole.Mid: "#3a3d44",
    QPalette.ColorRole.Midlight: "#34373e",
    QPalette.ColorRole.Dark: "#a0a4ab",
}
#: Disabled text in the dark theme: dimmed (Fusion's light defaults read as enabled on dark).
_DARK_DISABLED = {
    QPalette.ColorRole.WindowText: "#6b6f76",
    QPalette.ColorRole.Text: "#6b6f76",
    QPalette.ColorRole.ButtonText: "#6b6f76",
    QPalette.ColorRole.Button: "#24262b",
    QPalette.ColorRole.Base: "#1b1d21",
    QPalette.ColorRole.Light: "#1f2126",
}


_system: dict[str, object] = {}


def apply_theme(theme: str, font_size: int) -> None:
    """ "system" keeps (or restores) the platform's own style and palette."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if not _system:
        _system.update(style=app.style().name(), palette=QPalette(app.palette()))
    if theme == "system":
        app.setStyle(str(_system["style"]))
        app.setPalette(_system["palette"])  # type: ignore[arg-type]
    else:
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        palette = app.style().standardPalette()
        if theme == "dark":
            for role, color in _DARK.items():
                palette.setColor(role, QColor(color))
            for role, color in _DARK_DISABLED.items():
                palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
        app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSize(font_size)
    app.setFont(font)
