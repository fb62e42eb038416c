"""The training loss per step as a line, painted with QPainter (no plotting dependency): axes
with the step and loss ranges, and the lowest and latest loss written above the line."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

#: Room for the axis labels around the plot area (pixels).
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 28, 24


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.total = 0
        self.setAccessibleName("Training loss per step")
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(560, 220)

    def clear(self) -> None:
        self.points, self.total = [], 0
        self.update()

    def add(self, step: int, total: int, loss: float) -> None:
        """One optimizer step's loss (steps may start past 1: a resumed run)."""
        self.points.append((step, loss))
        self.total = max(total, step)
        self.setAccessibleDescription(self.summary())
        self.update()

    def summary(self) -> str:
        """The numbers the plot shows, in words (its tooltip and accessible description)."""
        if not self.points:
            return "No training steps yet."
        low = min(self.points, key=lambda p: p[1])
        step, last = self.points[-1]
        return (
            f"Loss {last:.3f} at step {step} of {self.total}; lowest {low[1]:.3f} (step {low[0]})"
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.windowText().color()
        area = QRectF(MARGIN_LEFT, MARGIN_TOP, max(self.width() - MARGIN_LEFT - MARGIN_RIGHT, 1),
                      max(self.height() - MARGIN_TOP - MARGIN_BOTTOM, 1))  # fmt: skip
        painter.fillRect(area, palette.base())
        painter.setPen(QPen(text, 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        metrics = painter.fontMetrics()
        below = area.bottom() + metrics.ascent() + 4
        painter.drawText(QPointF(area.center().x() - metrics.horizontalAdvance("step") / 2,
                                 below), "step")  # fmt: skip
        if not self.points:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "The loss appears here per step")
            return
        first = self.points[0][0]
        losses = [loss for _, loss in self.points]
        low, high = min(losses), max(losses)
        span = (high - low) or max(abs(high), 1.0) * 0.1
        x_span = max(self.total - first, 1)

        def at(step: int, loss: float) -> QPointF:
            x = area.left() + (step - first) / x_span * area.width()
            return QPointF(x, area.bottom() - (loss - low) / span * area.height())

        for value, y in ((high, area.top()), (low, area.bottom())):
            label = f"{value:.3f}"
            painter.drawText(QPointF(area.left() - metrics.horizontalAdvance(label) - 6,
                                     y + metrics.ascent() / 2), label)  # fmt: skip
        painter.drawText(QPointF(area.left(), below), str(first))
        end = str(self.total)
        painter.drawText(QPointF(area.right() - metrics.horizontalAdvance(end), below), end)
        painter.drawText(QPointF(area.left(), MARGIN_TOP - 8), self.summary())
        painter.setPen(QPen(palette.highlight().color(), 2))
        line = QPolygonF([at(step, loss) for step, loss in self.points])
        if len(self.points) == 1:
            painter.drawEllipse(line[0], 3, 3)
        else:
            painter.drawPolyline(line)
